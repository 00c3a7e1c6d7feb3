"""Playwright + Chromium : chaque page se charge, clic sur une commune, filtre, texte hostile échappé."""

import shutil
import sqlite3
from pathlib import Path

import pytest

SORTIES = Path(__file__).resolve().parents[1] / "sorties"

pytestmark = pytest.mark.navigateur

PAGES = {"/": "Vue d'ensemble", "/carte": "Carte", "/commune?code=34301": "Commune", "/fiche?id=1": "Fiche opération",
         "/indicateurs": "Indicateurs", "/methode": "Méthode", "/operations": "Opérations",
         "/connexion": "Connexion", "/saisie": "Saisir une opération", "/importer": "Importer des opérations",
         "/retours": "Retours d'expérience", "/administration": "Administration"}


def attendre_application(page, titre: str) -> None:
    page.get_by_role("heading", name=titre, exact=True).first.wait_for(timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
                           "[data-testid=\"stStatusWidgetRunningIcon\"]')", timeout=90_000)


@pytest.mark.parametrize("chemin, titre", PAGES.items())
def test_chaque_page_se_charge_sans_exception(page_app, chemin, titre):
    page = page_app(chemin)
    attendre_application(page, titre)
    assert page.locator("[data-testid='stException']").count() == 0
    assert not page_app.erreurs


def test_clic_sur_une_commune_ouvre_sa_page(page_app, dossier_demo):
    import pandas as pd

    noms = pd.read_parquet(dossier_demo / "communes.parquet", columns=["code_insee", "nom"]).set_index(
        "code_insee")["nom"]
    page = page_app("/carte")
    attendre_application(page, "Carte")
    carte = page.frame_locator("iframe[title*='streamlit_folium']").first
    commune = carte.locator("path.desimper-commune").nth(3)
    commune.wait_for(state="attached", timeout=60_000)
    # Un point de la commune que rien ne recouvre (légende, point d'opération, échelle) : le centre de la boîte
    # d'une commune réelle (concave) peut tomber hors d'elle.
    point = commune.evaluate("""(chemin) => {
        const r = chemin.getBoundingClientRect();
        for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
            const x = r.left + r.width * i / 12, y = r.top + r.height * j / 12;
            if (document.elementFromPoint(x, y) === chemin) return {x: x - r.left, y: y - r.top};
        }
        return null; }""")
    assert point, "aucun point libre dans la commune"
    # La carte entière dans la fenêtre d'abord, puis un clic de souris à l'écran, comme un utilisateur : un clic
    # qui fait défiler le document de la carte pendant le geste n'atteint pas la commune.
    page.locator("iframe[title*='streamlit_folium']").first.scroll_into_view_if_needed()
    boite = commune.bounding_box()
    page.mouse.click(boite["x"] + point["x"], boite["y"] + point["y"])
    page.wait_for_url("**/commune?code=*", timeout=60_000)
    attendre_application(page, "Commune")
    code = page.url.split("code=")[-1][:5]
    legende = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").first
    legende.wait_for(timeout=30_000)
    assert legende.inner_text().startswith(noms[code])


def test_un_filtre_change_un_chiffre_cle(page_app):
    page = page_app("/")
    attendre_application(page, "Vue d'ensemble")
    metrique = page.locator("[data-testid='stMetricValue']").first
    avant = metrique.inner_text()
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Réalisée").click()
    page.wait_for_function(
        "(avant) => document.querySelector('[data-testid=\"stMetricValue\"]').innerText !== avant", arg=avant,
        timeout=60_000)
    assert metrique.inner_text() != avant


@pytest.fixture(scope="module")
def dossier_hostile(dossier_demo, tmp_path_factory):
    """Copie de la démonstration où une opération porte un nom et une description hostiles."""
    copie = tmp_path_factory.mktemp("hostile") / "demo"
    shutil.copytree(dossier_demo, copie)
    with sqlite3.connect(copie / "desimper.sqlite") as base:
        base.execute("UPDATE operation SET nom = ?, description = ? WHERE id = 1",
                     ("<img src=x onerror=alert(1)>", "<script>alert(2)</script> texte"))
    return copie


def test_texte_hostile_affiche_en_clair(navigateur, dossier_hostile, demarrer_serveur):
    url = demarrer_serveur(dossier_hostile)
    hostile = "<img src=x onerror=alert(1)>"
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = contexte.new_page()
    alertes = []
    page.on("dialog", lambda dialogue: (alertes.append(dialogue.message), dialogue.dismiss()))
    try:
        # Fiche : titre, liste et description en texte brut.
        page.goto(url + "/fiche?id=1")
        attendre_application(page, "Fiche opération")
        page.get_by_text(hostile).first.wait_for(timeout=30_000)
        page.get_by_text("<script>alert(2)</script> texte").first.wait_for(timeout=30_000)
        # Commune : info-bulles des zones et tableau des opérations.
        page.goto(url + "/commune?code=" + _code_operation_1(dossier_hostile))
        attendre_application(page, "Commune")
        carte = page.frame_locator("iframe[title*='streamlit_folium']").first
        zones = carte.locator("path.desimper-zone")
        zones.first.wait_for(state="attached", timeout=60_000)
        vus = []
        for rang in range(zones.count()):
            zones.nth(rang).dispatch_event("mouseover")
            bulle = carte.locator(".leaflet-tooltip").last
            if bulle.count():
                vus.append(bulle.inner_text())
        assert any(hostile in texte for texte in vus), "l'info-bulle doit montrer le nom en clair"
        assert carte.locator("img[src='x']").count() == 0
        # Carte : fiche de l'opération cliquée, affichée dans la page (pas de fenêtre embarquée dans la carte) ;
        # filtre de commune, zoom sur l'opération, clic sur chaque point.
        page.goto(url + "/carte")
        attendre_application(page, "Carte")
        filtre = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").last
        filtre.click()
        page.keyboard.type(_nom_commune_operation_1(dossier_hostile))
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.wait_for_timeout(4_000)
        attendre_application(page, "Carte")
        carte = page.frame_locator("iframe[title*='streamlit_folium']").first
        carte.locator("path.desimper-agregat").first.wait_for(state="attached", timeout=60_000)
        # Zoom sur l'opération (comme la molette) : la couche des opérations de l'emprise remplace les cercles.
        carte.locator("body").evaluate("(corps, centre) => window.map.setView(centre, 17)",
                                       _point_operation_1(dossier_hostile))
        points = carte.locator("path.desimper-operation")
        points.first.wait_for(state="attached", timeout=60_000)
        fiches = []
        for rang in range(min(points.count(), 20)):
            points.nth(rang).dispatch_event("click")  # même si les points se recouvrent
            page.wait_for_timeout(1_500)
            attendre_application(page, "Carte")
            fiche = page.locator(".desimper-fiche")
            if fiche.count():
                fiches.append(fiche.first.inner_text())
            if any(hostile in texte for texte in fiches):
                break
        assert any(hostile in texte for texte in fiches), f"la fiche doit montrer le nom en clair : {fiches}"
        assert carte.locator(".leaflet-popup-content").count() == 0
        assert page.locator("img[src='x']").count() == 0
        assert carte.locator("img[src='x']").count() == 0
        assert alertes == []
    except Exception:
        page.screenshot(path=str(SORTIES / "texte_hostile.png"), full_page=True)
        raise
    finally:
        contexte.close()


def _nom_commune_operation_1(dossier) -> str:
    import pandas as pd

    communes = pd.read_parquet(dossier / "communes.parquet", columns=["code_insee", "nom"])
    return dict(zip(communes["code_insee"], communes["nom"]))[_code_operation_1(dossier)]


def _point_operation_1(dossier) -> list[float]:
    """[latitude, longitude] d'un point intérieur de l'opération 1 (WGS84)."""
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    try:
        operations = magasin.lire_operations()
    finally:
        magasin.fermer()
    point = operations.loc[operations["id"].eq(1)].geometry.to_crs(4326).representative_point().iloc[0]
    return [point.y, point.x]


def _code_operation_1(dossier) -> str:
    with sqlite3.connect(dossier / "desimper.sqlite") as base:
        return base.execute("SELECT code_insee FROM operation WHERE id = 1").fetchone()[0]


def test_telechargement_du_tableau_des_operations(page_app):
    page = page_app("/indicateurs")
    attendre_application(page, "Indicateurs")
    with page.expect_download(timeout=60_000) as attente:
        page.get_by_role("button", name="CSV (Excel)").click()
    chemin = attente.value.path()
    contenu = open(chemin, "rb").read()
    assert contenu.startswith(b"\xef\xbb\xbf") and b";" in contenu.splitlines()[0]
    with page.expect_download(timeout=60_000) as attente:
        page.get_by_role("button", name="GeoPackage").click()
    assert attente.value.suggested_filename == "operations.gpkg"


def test_import_par_un_referent_de_bout_en_bout(navigateur, dossier_demo, demarrer_serveur, tmp_path_factory):
    import geopandas as gpd
    from shapely.geometry import box

    from donnees.comptes import creer_compte
    from donnees.magasin import Magasin

    dossier = tmp_path_factory.mktemp("import") / "demo"
    shutil.copytree(dossier_demo, dossier)
    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    creer_compte(magasin, "referent@sete.fr", "Camille Référente", "referent", ["34301"],
                 "une phrase de passe solide", auteur="test")
    avant = len(magasin.lire_operations())
    communes = gpd.read_parquet(dossier / "communes.parquet").to_crs(2154).set_index("code_insee")
    centre = communes.loc["34301", "geometry"].representative_point()
    zone = gpd.GeoSeries([box(centre.x, centre.y, centre.x + 40, centre.y + 25)], crs=2154).to_crs(4326).iloc[0]
    fichier = tmp_path_factory.mktemp("fichiers") / "cour.geojson"
    gpd.GeoDataFrame({"code_insee": ["34301"], "nom": ["Cour de l'école du Navigateur"], "type_site": ["cour_ecole"],
                      "statut": ["realisee"], "date_fin_travaux": ["15/09/2024"], "revetement_avant": ["enrobe"],
                      "revetement_apres": ["pelouse"]}, geometry=[zone], crs=4326).to_file(fichier)
    url = demarrer_serveur(dossier)
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = contexte.new_page()
    try:
        page.goto(url + "/connexion")
        attendre_application(page, "Connexion")
        page.get_by_label("Adresse électronique").fill("referent@sete.fr")
        page.get_by_label("Mot de passe").fill("une phrase de passe solide")
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text("Camille Référente").first.wait_for(timeout=30_000)
        page.get_by_role("link", name="Importer").click()
        attendre_application(page, "Importer des opérations")
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(fichier))
        page.get_by_text("Opérations lues").first.wait_for(timeout=60_000)
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / "import_apercu.png"), full_page=True)
        page.get_by_role("button", name="Importer").click()
        page.get_by_text("opération(s) importée(s)").first.wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(SORTIES / "import_referent.png"), full_page=True)
        raise
    finally:
        contexte.close()
    assert len(magasin.lire_operations()) == avant + 1
    assert magasin.lire_journal().iloc[-1]["auteur"] == "referent@sete.fr"
    magasin.fermer()
