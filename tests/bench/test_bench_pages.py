"""Mesures (make bench) des pages de l'application à la taille « complète » de la démonstration.

Budgets (CONCEPTION §7, consigne « Speed and weight ») :
- un changement de filtre relance une page en ≤ 0,5 s (médiane), données en cache : AppTest sur la vue
  d'ensemble, la carte (si pages/carte.py existe), la page Commune (Sète, section « Opérations ») et la page
  Indicateurs. Deux médianes par page : « déjà vu » (combinaison de filtres déjà calculée : les fonctions en
  cache répondent ; c'est la médiane soumise au budget, détaillée aussi par combinaison) et « première fois »
  (combinaison nouvelle : les indicateurs sont recalculés ; rapportée sans budget). Un profil cProfile d'une
  relance « déjà vue » sans filtre et d'une relance « première fois » est écrit pour chaque page
  (tests/sorties/bench_pages_profil_<page>[_premiere_fois].txt) et résumé dans le JSON, pour désigner l'étape
  lente ;
- HTML de la carte du bassin (avec choroplèthe) ≤ 2 Mo ; carte d'une commune avec parcelles (Sète :
  300 premières parcelles prioritaires + zones des opérations) ≤ 4 Mo ; le pire cas (toutes les parcelles
  candidates de Sète sur une carte) est mesuré sans budget. La carte réellement envoyée par chaque vue
  (argument du composant st_folium relevé par AppTest) est aussi pesée, avec le même budget selon la vue
  (bassin ou commune) ;
- mémoire du serveur réel (processus et enfants, RSS) ≤ 2 Go avec 10 sessions Chromium ouvertes, chacune
  passée par la vue d'ensemble, la commune de Sète et les indicateurs (navigation dans l'application, une
  session Streamlit par onglet). Sans Chromium ou Playwright : test ignoré, sauf sous ``CI=true``.

Le territoire complet (graine 42) est généré une fois dans un dossier temporaire, ou lu dans
``$DESIMPER_DEMO_COMPLETE`` s'il y en a déjà un ; les modèles chaleur et eau sont ensuite mis en cache disque
comme le fait ``desimper demo``. Les médianes sont écrites dans tests/sorties/bench_pages.json.
"""

from __future__ import annotations

import cProfile
import io
import itertools
import json
import pstats
import re
import statistics
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from donnees.config import url_base
from donnees.magasin import Magasin
from donnees.nomenclatures import STATUTS, VALIDATIONS
from donnees.referentiel import lire_couche, lire_territoire
from indicateurs.calcul import calculer_indicateurs_communes
from indicateurs.catalogue import lire_catalogue, titre_axe, unite
from indicateurs.communs import Filtres
from services.modeles import calculer_modeles_territoire
from indicateurs.parametres import lire_parametres
from indicateurs.priorites import calculer_priorites, classer_parcelles
from indicateurs.surfaces import calculer_surface_impermeable_communes
from outils import (CHROMIUM, OPTIONS_CHROMIUM, arreter_serveur, enregistrer_mesure, importer_playwright,
                    lancer_serveur, resumer_profil)
from vues.cartes import Choroplethe, construire_carte_bassin, construire_carte_commune

RACINE = Path(__file__).resolve().parents[2]
APP = str(RACINE / "app.py")
SORTIES = RACINE / "tests" / "sorties"
CODE_SETE = "34301"
PASSAGES = 7
BUDGET_RELANCE_S = 0.5
BUDGET_CARTE_BASSIN_MO = 2
BUDGET_CARTE_COMMUNE_MO = 4
BUDGET_MEMOIRE_MO = 2048
NOMBRE_SESSIONS = 10
NOMBRE_PARCELLES_CARTE = 300  # comme pages/commune.py
INDICATEUR_CARTE = "surface_desimpermeabilisee"  # indicateur proposé par défaut sur la vue d'ensemble


def _enregistrer(cle: str, valeur) -> None:
    enregistrer_mesure("bench_pages.json", cle, valeur)


def _mo(texte: str) -> float:
    return len(texte.encode("utf-8")) / 1e6


@pytest.fixture(scope="module")
def demo_complete(demo_complete) -> Path:
    """Démonstration complète (graine 42) avec les modèles chaleur et eau en cache disque."""
    dossier = demo_complete
    calculer_modeles_territoire(dossier)  # comme `desimper demo` : la première page ne calcule pas la chaleur
    return dossier


# ------------------------------------------------------------------------------ relance après un filtre

PAGES = {  # nom -> (script passé à switch_page, titre attendu)
    "vue_ensemble": (None, "Vue d'ensemble"),
    "carte": ("pages/carte.py", "Carte"),
    "commune": ("pages/commune.py", "Commune"),
    "indicateurs": ("pages/indicateurs.py", "Indicateurs"),
}
TYPE_DEJA_VU = "cour_ecole"


@pytest.fixture(scope="module")
def selections(demo_complete) -> dict:
    """Sélection complète (valeurs des filtres par défaut) et réserve de combinaisons jamais demandées.

    Chaque relance « première fois » prend la suivante : une sélection large (une année en moins à un bout,
    un statut ou une validation décoché), pour comparer à taille égale avec la relance « déjà vue » sans filtre.
    """
    magasin = Magasin(url_base(demo_complete))
    try:
        annees = magasin.lire_operations()["annee"].dropna().astype(int)
    finally:
        magasin.fermer()
    debut, fin = int(annees.min()), int(annees.max())
    complete = {"filtre_annees": (debut, fin), "filtre_statuts": list(STATUTS),
                "filtre_validations": list(VALIDATIONS), "filtre_types": []}
    variantes = itertools.product(
        [(debut, fin), (debut + 1, fin), (debut, fin - 1), (debut + 1, fin - 1)],
        [list(STATUTS), ["en_travaux", "realisee"], ["programmee", "realisee"]],
        [list(VALIDATIONS), ["a_valider", "validee"], ["a_corriger", "validee"]])
    nouvelles = ({"filtre_annees": a, "filtre_statuts": s, "filtre_validations": v}
                 for a, s, v in variantes if (a, s, v) != ((debut, fin), list(STATUTS), list(VALIDATIONS)))
    return {"complete": complete, "nouvelles": nouvelles}


def _page_absente(nom: str) -> bool:
    script = PAGES[nom][0]
    return script is not None and not (RACINE / script).exists()


def _parametres_pages():
    return [pytest.param(nom, marks=pytest.mark.skipif(_page_absente(nom), reason=f"{PAGES[nom][0]} absente"))
            for nom in PAGES]


def _ouvrir(nom: str, dossier: Path, monkeypatch, **etat) -> tuple[AppTest, float]:
    """AppTest sur la page ``nom`` (Sète pour les pages qui choisissent une commune) ; durée du 1er affichage.

    ``etat`` : clés d'état de session posées avant l'affichage de la page (ex. ``commune_section``).
    """
    script, titre = PAGES[nom]
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    appli = AppTest.from_file(APP, default_timeout=300)
    debut = time.perf_counter()
    appli.run()  # chauffe : couches, modèles (cache disque), indicateurs sans filtre
    duree = time.perf_counter() - debut
    assert not appli.exception, appli.exception
    if script:
        appli.query_params["code"] = CODE_SETE
        appli.session_state["commune_choisie"] = CODE_SETE
        for cle, valeur in etat.items():
            appli.session_state[cle] = valeur
        appli.switch_page(script)
        duree += _relancer(appli, titre)
    return appli, duree


def _relancer(appli: AppTest, titre: str) -> float:
    debut = time.perf_counter()
    appli.run()
    duree = time.perf_counter() - debut
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == [titre]
    return duree


def _profil(appli: AppTest, titre: str, nom: str, etat: dict) -> list[dict]:
    """Relance sous cProfile après avoir posé ``etat`` : fonctions du projet les plus coûteuses (temps cumulé).

    Le profileur ralentit la relance : sa durée ne compte pas dans les médianes.

    AppTest exécute le script dans un fil à part : le profileur est activé dans chaque fil lancé pendant
    la relance (``threading.setprofile``), puis les statistiques sont réunies.
    """
    profileurs: list[cProfile.Profile] = []

    def activer(*_):
        profileur = cProfile.Profile()
        profileurs.append(profileur)
        profileur.enable()  # remplace ce crochet dans le fil courant

    for cle, valeur in etat.items():
        appli.session_state[cle] = valeur
    threading.setprofile(activer)
    try:
        duree = _relancer(appli, titre)
    finally:
        threading.setprofile(None)
    assert profileurs, "aucun fil profilé"
    texte = io.StringIO()
    statistiques = pstats.Stats(*profileurs, stream=texte).sort_stats("cumulative")
    texte.write(f"Relance de {nom} sous cProfile ({etat}) : {duree:.3f} s\n")
    statistiques.print_stats(80)
    SORTIES.mkdir(parents=True, exist_ok=True)
    (SORTIES / f"bench_pages_profil_{nom}.txt").write_text(texte.getvalue())
    return resumer_profil(statistiques)


@pytest.mark.parametrize("nom", _parametres_pages())
def test_relance_apres_changement_de_filtre(nom, demo_complete, selections, monkeypatch):
    titre = PAGES[nom][1]
    appli, premiere = _ouvrir(nom, demo_complete, monkeypatch, commune_section="Opérations")
    if nom == "commune":
        assert appli.selectbox[0].value == CODE_SETE
        assert appli.session_state["commune_section"] == "Opérations"
        assert appli.get("component_instance"), "carte des opérations de Sète absente"  # st_folium

    def poser(valeurs: dict) -> None:
        for cle, valeur in valeurs.items():
            appli.session_state[cle] = valeur

    poser({"filtre_types": [TYPE_DEJA_VU]})  # la combinaison « déjà vue » est calculée une fois
    _relancer(appli, titre)
    premiere_fois = []
    for _ in range(PASSAGES):
        poser(next(selections["nouvelles"]))
        premiere_fois.append(_relancer(appli, titre))
    poser({**selections["complete"], "filtre_types": [TYPE_DEJA_VU]})
    _relancer(appli, titre)
    # alternance de deux combinaisons déjà calculées : la sélection complète et un seul type de site
    deja_vu, alternance = {"sans_filtre": [], TYPE_DEJA_VU: []}, itertools.cycle([[], [TYPE_DEJA_VU]])
    for _ in range(PASSAGES):
        types = next(alternance)
        poser({"filtre_types": types})
        deja_vu[types[0] if types else "sans_filtre"].append(_relancer(appli, titre))
    toutes = [*deja_vu["sans_filtre"], *deja_vu[TYPE_DEJA_VU]]
    poser({"filtre_types": [TYPE_DEJA_VU]})
    _relancer(appli, titre)
    profils = {  # sélection complète (le cas « déjà vu » le plus lourd), puis une sélection nouvelle
        "deja_vu_sans_filtre": _profil(appli, titre, nom, {"filtre_types": []}),
        "premiere_fois": _profil(appli, titre, f"{nom}_premiere_fois", next(selections["nouvelles"])),
    }

    mediane_vu, mediane_nouveau = statistics.median(toutes), statistics.median(premiere_fois)
    _enregistrer(f"relance_filtre_{nom}", {
        "deja_vu_mediane_s": round(mediane_vu, 3),
        **{f"deja_vu_{cle}_durees_s": [round(d, 3) for d in durees] for cle, durees in deja_vu.items()},
        **{f"deja_vu_{cle}_mediane_s": round(statistics.median(durees), 3) for cle, durees in deja_vu.items()},
        "premiere_fois_mediane_s": round(mediane_nouveau, 3),
        "premiere_fois_durees_s": [round(d, 3) for d in premiere_fois],
        "premier_affichage_s": round(premiere, 2),
        **{f"profil_{cle}_cumul_s": profil for cle, profil in profils.items()},
    })
    assert mediane_vu <= BUDGET_RELANCE_S, (
        f"{nom} : relance médiane {mediane_vu:.3f} s > {BUDGET_RELANCE_S} s "
        f"(profil : tests/sorties/bench_pages_profil_{nom}.txt)")


# ------------------------------------------------------------------------------ poids des cartes


@pytest.fixture(scope="module")
def donnees_cartes(demo_complete) -> dict:
    magasin = Magasin(url_base(demo_complete))
    try:
        donnees = {"operations": magasin.lire_operations(), "zones": magasin.lire_zones(),
                   "financements": magasin.lire_financements()}
    finally:
        magasin.fermer()
    for nom in ("communes", "communes_affichage", "objectifs", "nouvelles_surfaces", "occupation", "parcelles"):
        donnees[nom] = lire_couche(nom, demo_complete)
    donnees["parametres"] = lire_parametres(lire_territoire(demo_complete).get("parametres"))
    return donnees


def test_poids_carte_bassin_avec_choroplethe(donnees_cartes):
    d = donnees_cartes
    table = calculer_indicateurs_communes(
        d["operations"], d["zones"], d["financements"], d["communes"],
        calculer_surface_impermeable_communes(d["occupation"]), d["objectifs"], d["nouvelles_surfaces"],
        d["parametres"], Filtres())
    valeurs = table.set_index("territoire")[INDICATEUR_CARTE]
    choroplethe = Choroplethe(valeurs, titre_axe(INDICATEUR_CARTE), unite(INDICATEUR_CARTE),
                              int(lire_catalogue().loc[INDICATEUR_CARTE, "decimales"]))
    html = construire_carte_bassin(d["communes_affichage"], d["operations"], choroplethe=choroplethe) \
        .get_root().render()
    taille = _mo(html)
    _enregistrer("carte_bassin_choroplethe", {"mo": round(taille, 3), "operations": len(d["operations"]),
                                              "communes": len(d["communes_affichage"])})
    assert taille <= BUDGET_CARTE_BASSIN_MO


def test_poids_carte_commune_avec_parcelles(donnees_cartes):
    """Sète comme la page Commune la construit : contour, zones des opérations, parcelles prioritaires."""
    d = donnees_cartes
    commune = d["communes"][d["communes"]["code_insee"] == CODE_SETE]
    operations = d["operations"][d["operations"]["code_insee"].eq(CODE_SETE).to_numpy(bool)]
    zones = d["zones"][d["zones"]["operation_id"].isin(operations["id"]).to_numpy(bool)]
    parcelles = d["parcelles"][d["parcelles"]["commune"].eq(CODE_SETE).to_numpy(bool)]
    occupation = d["occupation"][d["occupation"]["code_insee"].eq(CODE_SETE).to_numpy(bool)]
    debut = time.perf_counter()
    priorites = calculer_priorites(parcelles, occupation, operations=d["operations"], parametres=d["parametres"])
    duree_priorites = time.perf_counter() - debut
    candidates = classer_parcelles(priorites, CODE_SETE)
    assert len(candidates) > NOMBRE_PARCELLES_CARTE

    def carte_parcelles(classees, avec_zones: bool) -> float:
        geometries = parcelles[parcelles["id"].isin(classees["id"]).to_numpy(bool)][["id", "geometry"]]
        carte = construire_carte_commune(commune, zones if avec_zones else None, geometries.merge(classees, on="id"))
        return _mo(carte.get_root().render())

    premieres = candidates.head(NOMBRE_PARCELLES_CARTE)
    mesures = {
        "section_operations_zones_mo": round(_mo(construire_carte_commune(commune, zones).get_root().render()), 3),
        "section_parcelles_300_mo": round(carte_parcelles(premieres, avec_zones=False), 3),
        "parcelles_300_et_zones_mo": round(carte_parcelles(premieres, avec_zones=True), 3),
        "pire_cas_toutes_candidates_et_zones_mo": round(carte_parcelles(candidates, avec_zones=True), 3),
        "parcelles_commune": len(parcelles), "parcelles_candidates": len(candidates), "zones": len(zones),
        "calcul_priorites_sete_s": round(duree_priorites, 2),
    }
    _enregistrer("carte_commune_sete", mesures)
    assert mesures["parcelles_300_et_zones_mo"] <= BUDGET_CARTE_COMMUNE_MO


VUES_CARTES = [  # (nom, page, état de session avant l'affichage, budget en Mo)
    ("vue_ensemble", "vue_ensemble", {}, BUDGET_CARTE_BASSIN_MO),
    ("carte_communes", "carte", {"carte_couche": "Communes"}, BUDGET_CARTE_BASSIN_MO),
    ("carte_chaleur", "carte", {"carte_couche": "Chaleur"}, BUDGET_CARTE_BASSIN_MO),
    ("carte_impermeabilisation", "carte", {"carte_couche": "Imperméabilisation"}, BUDGET_CARTE_BASSIN_MO),
    ("carte_parcelles_sete", "carte", {"carte_couche": "Parcelles d'une commune"}, BUDGET_CARTE_COMMUNE_MO),
    ("commune_sete_operations", "commune", {"commune_section": "Opérations"}, BUDGET_CARTE_COMMUNE_MO),
    ("commune_sete_parcelles", "commune", {"commune_section": "Parcelles prioritaires"}, BUDGET_CARTE_COMMUNE_MO),
]


def _poids_carte_envoyee(appli: AppTest) -> dict:
    """Carte st_folium telle que la page l'envoie : HTML/JS (script, en-tête, corps) et message complet.

    Détail : images en data URI (vignettes, chaleur) et blocs ``case "…":`` du JavaScript de folium (styles
    par entité, indexés par la première propriété unique quand les entités n'ont pas d'``id``).
    """
    composants = appli.get("component_instance")
    assert len(composants) == 1, f"{len(composants)} composants sur la page (une carte attendue)"
    message = composants[0].proto.json_args
    arguments = json.loads(message)
    script = arguments.get("script", "")
    html = script + arguments.get("header", "") + arguments.get("html", "")
    images = sum(len(m) for m in re.findall(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", html))
    cas = sum(len(ligne) for ligne in script.splitlines() if ligne.lstrip().startswith("case "))
    return {"html_mo": round(_mo(html), 3), "message_mo": round(_mo(message), 3),
            "dont_images_data_uri_mo": round(images / 1e6, 3), "dont_cas_de_style_mo": round(cas / 1e6, 3)}


@pytest.mark.parametrize("vue", [
    pytest.param(v, id=v[0], marks=pytest.mark.skipif(_page_absente(v[1]), reason=f"page {v[1]} absente"))
    for v in VUES_CARTES])
def test_poids_carte_envoyee_par_la_page(vue, demo_complete, monkeypatch):
    """Poids de la carte que chaque vue envoie au navigateur (AppTest, sans filtre)."""
    nom, page, etat, budget = vue
    appli, _ = _ouvrir(page, demo_complete, monkeypatch, **etat)
    mesures = {**_poids_carte_envoyee(appli), "budget_mo": budget}
    _enregistrer(f"carte_envoyee_{nom}", mesures)
    assert mesures["html_mo"] <= budget, f"{nom} : carte de {mesures['html_mo']} Mo > {budget} Mo ({mesures})"


# ------------------------------------------------------------------------------ mémoire du serveur


def _descendants(pid: int) -> list[int]:
    """Le processus et tous ses descendants (lus dans /proc)."""
    enfants: dict[int, list[int]] = {}
    for entree in Path("/proc").iterdir():
        if not entree.name.isdigit():
            continue
        try:
            etat = (entree / "stat").read_text()
        except OSError:
            continue
        parent = int(etat.rsplit(")", 1)[1].split()[1])
        enfants.setdefault(parent, []).append(int(entree.name))
    resultat, pile = [], [pid]
    while pile:
        courant = pile.pop()
        resultat.append(courant)
        pile.extend(enfants.get(courant, []))
    return resultat


def _rss_mo(pid: int) -> float:
    """RSS (Mo) du processus et de ses enfants : psutil s'il est installé, sinon /proc/PID/status."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        racine = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [racine, *racine.children(recursive=True)]) / 2**20
    total_ko = 0
    for courant in _descendants(pid):
        try:
            for ligne in Path(f"/proc/{courant}/status").read_text().splitlines():
                if ligne.startswith("VmRSS:"):
                    total_ko += int(ligne.split()[1])
        except OSError:
            continue
    return total_ko / 1024


def _pic_mo(pid: int) -> float | None:
    """Pic de RSS (VmHWM) du processus serveur depuis son démarrage, en Mo."""
    try:
        for ligne in Path(f"/proc/{pid}/status").read_text().splitlines():
            if ligne.startswith("VmHWM:"):
                return round(int(ligne.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@pytest.fixture(scope="module")
def serveur(demo_complete):
    """`desimper serveur` réel sur un port libre ; renvoie (url, pid)."""
    processus, journal, url = lancer_serveur(demo_complete, SORTIES / "serveur_bench_pages.log")
    yield url, processus.pid
    arreter_serveur(processus, journal)


def _attendre_page(page, titre: str) -> None:
    """Le titre de la page est affiché et le script a fini de tourner, sans exception."""
    page.locator("h1", has_text=titre).first.wait_for(timeout=120_000)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=120_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def _naviguer(page, chemin: str, titre: str) -> None:
    """Changement de page dans l'application (même session Streamlit), comme un lien de la navigation."""
    page.evaluate("chemin => { history.pushState({}, '', chemin); "
                  "window.dispatchEvent(new PopStateEvent('popstate')); }", chemin)
    _attendre_page(page, titre)


@pytest.fixture(scope="module")
def playwright_chromium():
    """sync_playwright, après vérification de Chromium (avant de lancer le serveur)."""
    return importer_playwright()


def test_memoire_serveur_10_sessions(playwright_chromium, serveur):
    url, pid = serveur
    mesures = {"demarrage_mo": round(_rss_mo(pid), 1), "apres_sessions_mo": []}
    durees = []
    with playwright_chromium() as pw:
        navigateur = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=OPTIONS_CHROMIUM)
        contextes = []
        try:
            for _ in range(NOMBRE_SESSIONS):
                debut = time.perf_counter()
                contexte = navigateur.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
                contextes.append(contexte)
                page = contexte.new_page()
                page.goto(f"{url}/", wait_until="domcontentloaded")
                _attendre_page(page, "Vue d'ensemble")
                _naviguer(page, f"/commune?code={CODE_SETE}", "Commune")
                assert page.locator('[data-testid="stSelectbox"] input').first.input_value() == f"Sète ({CODE_SETE})"
                _naviguer(page, "/indicateurs", "Indicateurs")
                durees.append(round(time.perf_counter() - debut, 1))
                mesures["apres_sessions_mo"].append(round(_rss_mo(pid), 1))
            time.sleep(3)
            rss = _rss_mo(pid)
            mesures.update({"sessions": len(contextes), "rss_10_sessions_mo": round(rss, 1),
                            "pic_vmhwm_processus_mo": _pic_mo(pid), "durees_session_s": durees,
                            "processus": len(_descendants(pid))})
        finally:
            for contexte in contextes:
                contexte.close()
            navigateur.close()
    _enregistrer("memoire_serveur", mesures)
    assert rss <= BUDGET_MEMOIRE_MO
