"""Playwright + Chromium, de bout en bout : un référent se connecte, dessine une zone à la souris, remplit
la fiche et enregistre ; l'opération paraît sur la Carte et dans les totaux de la Vue d'ensemble ;
l'administrateur la valide, puis le public la compte. Un double clic (rapide, puis deux clics espacés) sur
« Enregistrer » ne crée qu'une opération, et le formulaire revient vide."""

import logging
import re
import shutil
from pathlib import Path

import pytest

from parcours import attendre_calme
from test_pages_navigateur import attendre_application

SORTIES = Path(__file__).resolve().parents[1] / "sorties"
MOT_DE_PASSE = "une phrase de passe solide"
NOM = "Cour de l'école Saisie-Navigateur"

pytestmark = pytest.mark.navigateur


def _nombre(texte: str) -> int:
    return int(re.sub(r"\D", "", texte.split("op")[0]))


def _nombre_operations(page) -> int:
    page.get_by_role("link", name="Vue d'ensemble").click()
    attendre_application(page, "Vue d'ensemble")
    metrique = page.locator("[data-testid='stMetric']").filter(has_text="Nombre d'opérations")
    metrique.first.wait_for(timeout=60_000)
    return _nombre(metrique.locator("[data-testid='stMetricValue']").first.inner_text())


def _se_connecter(page, url: str, email: str, nom: str) -> None:
    page.goto(url + "/connexion")
    attendre_application(page, "Connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(MOT_DE_PASSE)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text(nom).first.wait_for(timeout=30_000)


def _ouvrir_saisie_referent(navigateur, url: str):
    """Nouveau contexte (1440 px), référent de Sète connecté, page « Saisir une opération » ouverte ; rend
    (contexte, page, erreurs JavaScript relevées)."""
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1100}, locale="fr-FR")
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    _se_connecter(page, url, "referent@sete.fr", "Camille Référente")
    page.get_by_role("link", name="Saisir une opération").click()
    attendre_application(page, "Saisir une opération")
    return contexte, page, erreurs


def _proprietes_carte(cadre) -> str:
    """Propriétés (fiche, nom…) de tous les objets GeoJSON de la carte Leaflet d'un cadre, en texte."""
    try:
        return cadre.evaluate("""() => {
            if (!window.map || !window.map.eachLayer) return "";
            const textes = [];
            window.map.eachLayer(l => { if (l.feature) textes.push(JSON.stringify(l.feature.properties)); });
            return textes.join(" ");
        }""")
    except Exception as exc:  # noqa: BLE001 - cadre détaché pendant une relance (erreur de Playwright)
        from playwright.sync_api import Error as ErreurPlaywright

        if not isinstance(exc, ErreurPlaywright):
            raise
        logging.getLogger(__name__).info("Carte illisible pendant une relance : %s", exc)
        return ""


def _dessiner_polygone(page, centre_lonlat: tuple[float, float]) -> None:
    """Outil polygone de Leaflet.draw, quatre clics de souris autour du point, clic sur le premier pour fermer."""
    iframe = page.locator("iframe[title*='streamlit_folium']").first
    iframe.wait_for(timeout=150_000)  # composant affiché une fois chargé : lent sous la charge de la suite parallèle
    cadre = page.frame_locator("iframe[title*='streamlit_folium']").first
    outil = cadre.locator("a.leaflet-draw-draw-polygon")
    outil.wait_for(timeout=60_000)
    contenu = iframe.element_handle().content_frame()
    # Position du centre en pixels dans l'iframe, lue dans la carte Leaflet elle-même (window.map).
    contenu.wait_for_function("() => window.map && window.map.getContainer", timeout=60_000)
    # L'agent zoome sur son site avant de dessiner (ici, directement au niveau 18).
    zoom = None
    for _ in range(40):  # la carte peut encore se recadrer ou être redessinée juste après son chargement
        contenu.wait_for_function("() => window.map && window.map.getContainer", timeout=60_000)
        contenu.evaluate("([lon, lat]) => window.map.setView([lat, lon], 18, {animate: false})", list(centre_lonlat))
        page.wait_for_timeout(500)
        zoom = contenu.evaluate("() => window.map.getZoom()")
        if zoom == 18:
            break
    assert zoom == 18, zoom
    page.wait_for_timeout(300)
    x, y = contenu.evaluate(
        """([lon, lat]) => {
            const p = window.map.latLngToContainerPoint([lat, lon]);
            const r = window.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""", list(centre_lonlat))
    boite_iframe = iframe.bounding_box()
    ox, oy = boite_iframe["x"], boite_iframe["y"]
    assert 0 < x < boite_iframe["width"] and 0 < y < boite_iframe["height"], (x, y, boite_iframe)
    assert outil.get_attribute("title") == "Dessiner une zone (polygone)"  # textes de Leaflet.draw en français
    outil.click()
    sommets = [(x - 20, y - 15), (x + 20, y - 15), (x + 20, y + 15), (x - 20, y + 15)]
    for sx, sy in sommets:
        page.mouse.click(ox + sx, oy + sy)
        page.wait_for_timeout(250)
    page.mouse.click(ox + sommets[0][0], oy + sommets[0][1])


@pytest.fixture(scope="module")
def territoire_saisie(dossier_demo, demarrer_serveur, tmp_path_factory):
    """Un serveur pour le module : (dossier, magasin, centre de Sète, url). Les deux tests y saisissent des
    opérations de noms distincts et comptent par différence."""
    dossier, magasin, centre = _preparer_territoire(dossier_demo, tmp_path_factory)
    try:
        yield dossier, magasin, centre, demarrer_serveur(dossier)
    finally:
        magasin.fermer()


def _preparer_territoire(dossier_demo, tmp_path_factory):
    """Copie de la démonstration avec un référent de Sète et un administrateur ; point au cœur de Sète (WGS84)."""
    import geopandas as gpd

    from donnees.comptes import creer_compte
    from donnees.magasin import Magasin

    dossier = tmp_path_factory.mktemp("saisie") / "demo"
    shutil.copytree(dossier_demo, dossier)
    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    creer_compte(magasin, "referent@sete.fr", "Camille Référente", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "admin@bassin.fr", "Dominique Syndicat", "administrateur", [], MOT_DE_PASSE, auteur="test")
    communes = gpd.read_parquet(dossier / "communes.parquet").set_index("code_insee")
    point = communes.to_crs(2154).loc["34301", "geometry"].representative_point()
    centre = gpd.GeoSeries([point], crs=2154).to_crs(4326).iloc[0]
    return dossier, magasin, centre


def _choisir_revetements(page, avant: str = "Enrobé bitumineux", apres: str = "Pleine terre enherbée") -> None:
    """Choisit les revêtements avant et après de l'unique zone (aucun n'est choisi d'avance)."""
    for libelle, valeur in (("Revêtement avant travaux", avant), ("Revêtement après travaux", apres)):
        champ = page.get_by_label(libelle).first
        champ.wait_for(timeout=60_000)
        champ.click()
        page.keyboard.type(valeur)  # la liste se filtre ; Entrée choisit la première valeur retenue
        page.get_by_role("option", name=valeur, exact=True).first.wait_for(timeout=30_000)
        page.keyboard.press("Enter")
        attendre_application(page, "Saisir une opération")


def _dessiner_et_enregistrer(page, url: str, centre) -> int:
    """Étape 1 : le référent se connecte, compte ses opérations, dessine et enregistre ; rend le compte d'avant."""
    erreurs_js: list[str] = []
    page.on("pageerror", lambda exc: erreurs_js.append(str(exc)))
    _se_connecter(page, url, "referent@sete.fr", "Camille Référente")
    referent_avant = _nombre_operations(page)
    page.get_by_role("link", name="Saisir une opération").click()
    attendre_application(page, "Saisir une opération")
    _dessiner_polygone(page, (centre.x, centre.y))
    page.get_by_role("heading", name="Aperçu").wait_for(timeout=60_000)  # la zone dessinée est reçue
    attendre_application(page, "Saisir une opération")
    page.get_by_label("Nom de l'opération").fill(NOM)
    page.get_by_label("Maître d'ouvrage").fill("Ville de Sète")
    jour = page.get_by_role("spinbutton", name="day, Fin des travaux")
    jour.click()
    page.keyboard.type("30062025")  # les segments jour, mois, année s'enchaînent
    page.keyboard.press("Tab")
    page.get_by_label("Coût HT (€)").fill("85000")
    page.get_by_label("Coût HT (€)").press("Enter")
    attendre_application(page, "Saisir une opération")
    page.get_by_text("Choisissez le revêtement avant et après travaux").first.wait_for(timeout=30_000)
    _choisir_revetements(page)
    page.get_by_text("Surface désimperméabilisée").first.wait_for(timeout=30_000)
    SORTIES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SORTIES / "saisie_dessin_avant_enregistrement.png"), full_page=True)
    page.get_by_role("button", name="Enregistrer l'opération").click()
    page.get_by_text("est « à valider » par le syndicat").first.wait_for(timeout=60_000)
    assert not erreurs_js, erreurs_js
    return referent_avant


def _verifier_enregistrement(magasin, avant: int, centre) -> dict:
    """L'opération saisie est dans le magasin, avec ses champs et sa zone dessinée ; la rend."""
    operations = magasin.lire_operations()
    assert len(operations) == avant + 1
    nouvelle = magasin.lire_operation(int(operations["id"].max()))
    assert nouvelle["nom"] == NOM and nouvelle["code_insee"] == "34301"
    assert nouvelle["cree_par"] == "referent@sete.fr" and nouvelle["validation"] == "a_valider"
    assert nouvelle["cout_ht_eur"] == 85000 and str(nouvelle["date_fin_travaux"]) == "2025-06-30"
    assert len(nouvelle["zones"]) == 1 and 50 < nouvelle["zones"][0]["surface_m2"] < 2000
    assert nouvelle["zones"][0]["geometrie"].distance(centre) < 0.01
    return nouvelle


def _verifier_sur_la_carte(page, centre, identifiant: int) -> None:
    """Étape 2 : l'opération paraît sur la Carte : cercles par commune au zoom du bassin, puis, zoomée sur le
    site, l'opération une à une (identifiant dans les propriétés des objets dessinés par Leaflet ; la fiche est lue
    au clic, pas embarquée)."""
    page.get_by_role("link", name="Carte").click()
    attendre_application(page, "Carte")
    cadre = page.frame_locator("iframe[title*='streamlit_folium']").first
    cadre.locator("path.desimper-agregat").first.wait_for(state="attached", timeout=60_000)
    contenus = ""
    for _ in range(60):  # zoom sur le site (la carte peut être redessinée entre-temps), puis propriétés lues
        for cadre_ in page.frames:
            try:
                cadre_.evaluate("([lon, lat]) => window.map && window.map.getZoom() < 16 "
                                "&& window.map.setView([lat, lon], 16, {animate: false})", [centre.x, centre.y])
            except Exception:  # noqa: BLE001, S112 - cadre sans carte ou détaché pendant une relance
                continue
        page.wait_for_timeout(500)
        contenus = " ".join(_proprietes_carte(cadre_) for cadre_ in page.frames)
        if f'"id":{identifiant}}}' in contenus:
            break
    assert f'"id":{identifiant}}}' in contenus, contenus[-500:]
    assert cadre.locator("path.desimper-operation").count() >= 1


def _valider_par_l_administrateur(page, url: str, magasin, nouvelle: dict) -> None:
    """Étape 3 : l'administrateur valide l'opération depuis la page Opérations ; le journal le nomme."""
    _se_connecter(page, url, "admin@bassin.fr", "Dominique Syndicat")
    page.get_by_role("link", name="Opérations", exact=True).click()
    attendre_application(page, "Opérations")
    page.get_by_label("Rechercher (nom, maître d'ouvrage, description)").fill("Saisie-Navigateur")
    page.get_by_label("Rechercher (nom, maître d'ouvrage, description)").press("Enter")
    page.get_by_text("1 opérations").first.wait_for(timeout=60_000)
    page.get_by_label("Opération choisie").click()
    page.get_by_role("option", name=re.compile("Saisie-Navigateur")).click()
    page.get_by_role("button", name="Valider", exact=True).click()
    page.get_by_text(f"Opération n° {nouvelle['id']} validée").first.wait_for(timeout=60_000)
    assert magasin.lire_operation(nouvelle["id"])["validation"] == "validee"
    assert magasin.lire_journal(nouvelle["id"]).iloc[-1]["auteur"] == "admin@bassin.fr"


def test_saisie_dessinee_par_un_referent_puis_validee(navigateur, territoire_saisie):
    dossier, magasin, centre, url = territoire_saisie
    avant = len(magasin.lire_operations())

    public = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    referent = navigateur.new_context(viewport={"width": 1440, "height": 1100}, locale="fr-FR")
    admin = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    pages = {}
    try:
        pages["public"] = page = public.new_page()
        page.goto(url + "/")
        attendre_application(page, "Vue d'ensemble")
        public_avant = _nombre_operations(page)

        # 1. Le référent se connecte, compte ses opérations, puis dessine et enregistre.
        pages["referent"] = page = referent.new_page()
        referent_avant = _dessiner_et_enregistrer(page, url, centre)
        nouvelle = _verifier_enregistrement(magasin, avant, centre)

        # 2. Elle paraît sur la Carte (fiche de la fenêtre) et dans les totaux du référent.
        _verifier_sur_la_carte(page, centre, int(nouvelle["id"]))
        assert _nombre_operations(page) == referent_avant + 1

        # 3. L'administrateur la valide depuis la page Opérations.
        pages["admin"] = page = admin.new_page()
        _valider_par_l_administrateur(page, url, magasin, nouvelle)

        # 4. Le public la compte désormais.
        page = pages["public"]
        page.reload()
        attendre_application(page, "Vue d'ensemble")
        assert _nombre_operations(page) == public_avant + 1
    except Exception:
        SORTIES.mkdir(parents=True, exist_ok=True)
        for nom, page in pages.items():
            page.screenshot(path=str(SORTIES / f"saisie_{nom}.png"), full_page=True)
        raise
    finally:
        for contexte in (public, referent, admin):
            contexte.close()


def _remplir_une_saisie(page, centre, nom: str) -> None:
    """Dessine une zone, nomme l'opération, choisit ses revêtements ; l'aperçu est affiché."""
    _dessiner_polygone(page, (centre.x, centre.y))
    page.get_by_role("heading", name="Aperçu").wait_for(timeout=60_000)
    attendre_application(page, "Saisir une opération")
    page.get_by_label("Nom de l'opération").fill(nom)
    page.get_by_label("Nom de l'opération").press("Enter")
    attendre_application(page, "Saisir une opération")
    page.get_by_role("spinbutton", name="day, Fin des travaux").click()
    page.keyboard.type("30062025")
    page.keyboard.press("Tab")
    attendre_application(page, "Saisir une opération")
    _choisir_revetements(page)
    page.get_by_text("Surface désimperméabilisée").first.wait_for(timeout=30_000)


def _verifier_formulaire_vide(page, nom: str) -> None:
    """Après succès : message, lien vers la fiche, « Saisir une autre opération », champs et dessin effacés."""
    page.get_by_text("est « à valider » par le syndicat").first.wait_for(timeout=60_000)
    attendre_application(page, "Saisir une opération")
    attendre_calme(page)  # le message (toast) paraît avant la fin de la relance qui vide le formulaire
    page.get_by_role("button", name="Saisir une autre opération").wait_for(timeout=30_000)
    assert page.get_by_role("link", name=re.compile(r"Voir la fiche de l'opération n° \d+")).count() == 1
    assert page.get_by_label("Nom de l'opération").input_value() == ""
    page.get_by_text("Aucune zone pour l'instant").first.wait_for(timeout=30_000)
    assert page.get_by_text("Doublon ?").count() == 0
    assert page.get_by_text(nom).count() == 0


def test_double_clic_sur_enregistrer_une_seule_operation(navigateur, territoire_saisie):
    dossier, magasin, centre, url = territoire_saisie
    contexte, page, erreurs_js = _ouvrir_saisie_referent(navigateur, url)
    try:
        for essai, (nom, cliquer) in enumerate([
                ("Double-clic rapide", lambda bouton: bouton.dblclick()),
                ("Deux clics espacés", lambda bouton: _deux_clics_espaces(page, bouton))]):
            avant = magasin.compter()["operation"]
            _remplir_une_saisie(page, centre, nom)
            cliquer(page.get_by_role("button", name="Enregistrer l'opération"))
            _verifier_formulaire_vide(page, nom)
            page.wait_for_timeout(1_500)  # un éventuel second envoi aurait eu le temps d'écrire
            operations = magasin.lire_operations()
            assert magasin.compter()["operation"] == avant + 1, (essai, nom)
            assert (operations["nom"] == nom).sum() == 1
            page.get_by_role("button", name="Saisir une autre opération").click()
            attendre_application(page, "Saisir une opération")
        assert not erreurs_js, erreurs_js
    except Exception:
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / "saisie_double_clic.png"), full_page=True)
        raise
    finally:
        contexte.close()


def _deux_clics_espaces(page, bouton) -> None:
    """Deux clics de souris à 400 ms d'intervalle au même endroit (le second peut tomber sur le bouton
    désactivé, ou sur la page déjà relancée)."""
    bouton.scroll_into_view_if_needed()
    boite = bouton.bounding_box()
    x, y = boite["x"] + boite["width"] / 2, boite["y"] + boite["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(400)
    page.mouse.click(x, y)
