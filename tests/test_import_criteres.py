"""Couches de critères du potentiel (issue 15) : import depuis des fichiers et depuis Géorisques (serveur local de
tests/serveur_sources.py, pannes comprises), systèmes de coordonnées faux ou absents, classes inconnues, fiche de
sources.json, et lecture des couches stockées par le score de potentiel.

Chaque refus doit donner un message en français et laisser la couche précédente et sources.json intacts.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box, mapping

import cli
from donnees.referentiel import chemin_couche, couches_presentes, ecrire_territoire, lire_couche, lire_territoire
from donnees.sources import chemin_sources, lire_sources
from donnees.telechargement import chemin_cache

SETE, MEZE = "34301", "34157"
# Territoire synthétique de deux communes contiguës (WGS84) : Mèze à l'ouest de 3,60° E, Sète à l'est.
CONTOURS = {MEZE: box(3.50, 43.38, 3.60, 43.43), SETE: box(3.60, 43.38, 3.70, 43.43)}
A_CHEVAL = box(3.58, 43.40, 3.62, 43.41)  # coupé par la limite des deux communes
HORS = box(4.30, 43.80, 4.32, 43.82)     # Nîmes : hors du territoire


@pytest.fixture(autouse=True)
def _sans_base_externe(monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.delenv("DESIMPER_URL_GEORISQUES", raising=False)


def lancer(capsys, *arguments) -> tuple[int, str]:
    """Lance `desimper …` et renvoie (code, sortie + erreurs)."""
    code = cli.main([str(a) for a in arguments])
    sortie = capsys.readouterr()
    return code, sortie.out + sortie.err


def ecrire_geojson(chemin: Path, entites: list[tuple[object, dict]], crs: str | None = None) -> Path:
    contenu = {"type": "FeatureCollection",
               "features": [{"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in entites]}
    if crs:
        contenu["crs"] = {"type": "name", "properties": {"name": crs}}
    chemin.write_text(json.dumps(contenu), encoding="utf-8")
    return chemin


@pytest.fixture
def territoire(tmp_path, capsys) -> Path:
    """Territoire réel de deux communes, contours importés depuis un fichier."""
    dossier = tmp_path / "donnees"
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", "Essai", "--insee", f"{SETE},{MEZE}",
                          "--dossier", dossier)
    assert code == 0, sortie
    communes = ecrire_geojson(tmp_path / "communes.geojson", [
        (g, {"code": c, "nom": "Sète" if c == SETE else "Mèze", "population": 1000}) for c, g in CONTOURS.items()])
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", communes, "--dossier", dossier)
    assert code == 0, sortie
    return dossier


def etat(dossier: Path, couche: str) -> tuple[bytes | None, bytes | None]:
    """Octets de la couche et de sources.json (None s'ils manquent)."""
    fichier = chemin_couche(couche, dossier)
    return (fichier.read_bytes() if fichier.exists() else None,
            chemin_sources(dossier).read_bytes() if chemin_sources(dossier).exists() else None)


# ------------------------------------------------------------------------------------ depuis des fichiers


def test_coherence_des_schemas_avec_le_score():
    """Colonnes et classes des couches stockées = celles qu'attend indicateurs.potentiel.croiser_criteres."""
    from donnees.schemas import CLASSES_CRITERES, COUCHES_CRITERES_IMPORTABLES, SCHEMAS
    from indicateurs.potentiel import CLASSES_COUCHES, COUCHES_CRITERES
    from services.potentiel import COUCHES_STOCKEES

    for nom, (colonne, classes) in CLASSES_COUCHES.items():
        assert CLASSES_CRITERES[nom][0] == colonne and set(CLASSES_CRITERES[nom][1]) == set(classes)
    assert set(COUCHES_CRITERES_IMPORTABLES) == set(COUCHES_CRITERES) - {"occupation", "chaleur"}
    assert tuple(cli.COUCHES_CRITERES_IMPORTABLES) == COUCHES_CRITERES_IMPORTABLES == COUCHES_STOCKEES
    assert all(SCHEMAS[n].vide_admise for n in COUCHES_CRITERES_IMPORTABLES)


def test_sol_geojson_avec_colonne_et_alias(territoire, tmp_path, capsys):
    """--colonne choisit la colonne ; « groupe B », « C/D » (prudent : D) reconnus ; découpage par commune, entité
    hors du territoire écartée ; fiche de sources.json écrite (fichier, licence non précisée)."""
    fichier = ecrire_geojson(tmp_path / "sols-2024.geojson", [
        (CONTOURS[SETE].buffer(-0.01), {"GHS_CODE": "A", "groupe": "Z"}),
        (A_CHEVAL, {"GHS_CODE": "groupe B", "groupe": "Z"}),
        (box(3.51, 43.381, 3.52, 43.39), {"GHS_CODE": "C/D", "groupe": "Z"}),
        (HORS, {"GHS_CODE": "A", "groupe": "Z"}),
    ])
    code, sortie = lancer(capsys, "importer", "sol", "--depuis", fichier, "--colonne", "GHS_CODE",
                          "--dossier", territoire)
    assert code == 0, sortie
    assert "Couche « groupes hydrologiques des sols » importée : 4 lignes" in sortie and f"{SETE} Sète : 2" in sortie
    sols = lire_couche("sol", territoire)
    assert sols.crs.to_epsg() == 4326
    assert sorted(zip(sols["code_insee"], sols["groupe"])) == [(MEZE, "B"), (MEZE, "D"), (SETE, "A"), (SETE, "B")]
    assert sols["id"].tolist() == [f"{MEZE}-000001", f"{MEZE}-000002", f"{SETE}-000001", f"{SETE}-000002"]
    morceaux = sols[sols["groupe"] == "B"].to_crs(2154)
    assert morceaux.area.sum() == pytest.approx(gpd.GeoSeries([A_CHEVAL], crs=4326).to_crs(2154).area[0], rel=1e-6)
    fiche = lire_sources(territoire)["sol"]
    assert fiche["origine"] == "fichier" and fiche["fichiers"] == [str(fichier)] and fiche["urls"] == []
    assert fiche["nombre"] == 4 and fiche["par_commune"] == {MEZE: 2, SETE: 2} and fiche["millesime"] == "2024"
    assert fiche["licence"] == "non précisée (fichier fourni)" and "sols-2024.geojson" in fiche["attribution"]
    assert fiche["empreinte"] and couches_presentes(territoire)["sol"]


def test_nappe_libelles_georisques(territoire, tmp_path, capsys):
    fichier = ecrire_geojson(tmp_path / "remontees.geojson", [
        (box(3.61, 43.39, 3.62, 43.40), {"CLASSE": "Zones potentiellement sujettes aux débordements de nappe"}),
        (box(3.63, 43.39, 3.64, 43.40), {"CLASSE": "Zones potentiellement sujettes aux inondations de cave"}),
        (box(3.65, 43.39, 3.66, 43.40), {"CLASSE": "Pas de débordement de nappe ni d'inondation de cave"}),
    ])
    code, sortie = lancer(capsys, "importer", "nappe", "--depuis", fichier, "--dossier", territoire)
    assert code == 0, sortie
    assert lire_couche("nappe", territoire)["classe"].tolist() == ["debordement", "cave", "aucun"]
    fiche = lire_sources(territoire)["nappe"]
    assert fiche["licence"] == "Licence Ouverte / Etalab 2.0" and fiche["producteur"] == "BRGM"


def test_captages_geopackage_lambert93_et_valeur(territoire, tmp_path, capsys):
    """GeoPackage en Lambert-93 reprojeté en WGS84 ; PPI/PPR reconnus, « P3 » traduit par --valeur."""
    perimetres = gpd.GeoDataFrame({"TYPE_PERIM": ["PPI", "PPR", "P3"]},
                                  geometry=[Point(3.65, 43.40).buffer(0.0005), Point(3.65, 43.40).buffer(0.003),
                                            Point(3.65, 43.40).buffer(0.01)], crs=4326).to_crs(2154)
    perimetres.to_file(tmp_path / "captages.gpkg", layer="perimetres")
    code, sortie = lancer(capsys, "importer", "captages", "--depuis", tmp_path / "captages.gpkg",
                          "--valeur", "P3=eloigne", "--dossier", territoire)
    assert code == 0, sortie
    captages = lire_couche("captages", territoire)
    assert captages["perimetre"].tolist() == ["immediat", "rapproche", "eloigne"]
    assert captages.crs.to_epsg() == 4326 and captages.total_bounds[0] == pytest.approx(3.64, abs=1e-3)


def test_sites_pollues_types_et_classe(territoire, tmp_path, capsys):
    fichier = ecrire_geojson(tmp_path / "ssp.geojson", [
        (box(3.61, 43.39, 3.612, 43.392), {"type": "Secteur d'information sur les sols", "nom": "Ancienne usine"}),
        (Point(3.55, 43.40), {"type": "BASIAS", "nom": "Garage"}),
        (Point(3.56, 43.40), {"type": "CASIAS", "nom": None}),
    ])
    code, sortie = lancer(capsys, "importer", "sites_pollues", "--depuis", fichier, "--dossier", territoire)
    assert code == 0, sortie
    sites = lire_couche("sites_pollues", territoire).set_index("id")
    assert sites["type"].to_dict() == {f"{MEZE}-000001": "CASIAS", f"{MEZE}-000002": "CASIAS",
                                       f"{SETE}-000001": "SIS"}
    assert sites.at[f"{SETE}-000001", "nom"] == "Ancienne usine"
    # Un fichier des seuls SIS, sans colonne de type : --classe SIS.
    seuls = ecrire_geojson(tmp_path / "sis.geojson", [(box(3.61, 43.39, 3.612, 43.392), {"nom": "X"})])
    code, sortie = lancer(capsys, "importer", "sites_pollues", "--depuis", seuls, "--dossier", territoire)
    assert code == 2 and "--colonne NOM" in sortie and "--classe" in sortie
    code, sortie = lancer(capsys, "importer", "sites_pollues", "--depuis", seuls, "--classe", "SIS",
                          "--dossier", territoire)
    assert code == 0, sortie
    assert lire_couche("sites_pollues", territoire)["type"].tolist() == ["SIS"]


def test_cavites_shapefile_zippe_en_lambert93(territoire, tmp_path, capsys):
    points = gpd.GeoDataFrame({"TYPE": ["naturelle", "carrière"]},
                              geometry=[Point(3.65, 43.40), Point(3.55, 43.41)], crs=4326).to_crs(2154)
    points.to_file(tmp_path / "cavites.shp")
    archive = tmp_path / "cavites.zip"
    with zipfile.ZipFile(archive, "w") as zz:
        for partie in tmp_path.glob("cavites.*"):
            if partie.suffix != ".zip":
                zz.write(partie, partie.name)
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", archive, "--dossier", territoire)
    assert code == 0, sortie
    cavites = lire_couche("cavites", territoire)
    assert sorted(zip(cavites["code_insee"], cavites["nature"])) == [(MEZE, "carrière"), (SETE, "naturelle")]
    assert cavites.geometry.x.min() == pytest.approx(3.55, abs=1e-6)


def test_classe_inconnue_message_et_couche_intacte(territoire, tmp_path, capsys):
    bon = ecrire_geojson(tmp_path / "nappe.geojson", [(box(3.61, 43.39, 3.62, 43.40), {"classe": "cave"})])
    assert lancer(capsys, "importer", "nappe", "--depuis", bon, "--dossier", territoire)[0] == 0
    avant = etat(territoire, "nappe")
    mauvais = ecrire_geojson(tmp_path / "nappe-faux.geojson", [
        (box(3.61, 43.39, 3.62, 43.40), {"classe": "cave"}),
        (box(3.63, 43.39, 3.64, 43.40), {"classe": "forte"}),
    ])
    code, sortie = lancer(capsys, "importer", "nappe", "--depuis", mauvais, "--dossier", territoire)
    assert code == 2 and "Traceback" not in sortie
    assert "Fichier nappe-faux.geojson, ligne 2, colonne « classe » : valeur « forte » inconnue" in sortie
    assert "debordement, cave, aucun" in sortie and "--valeur 'forte=debordement'" in sortie
    assert etat(territoire, "nappe") == avant
    code, sortie = lancer(capsys, "importer", "nappe", "--depuis", mauvais, "--valeur", "forte=debordement",
                          "--dossier", territoire)
    assert code == 0, sortie
    assert lire_couche("nappe", territoire)["classe"].tolist() == ["cave", "debordement"]
    code, sortie = lancer(capsys, "importer", "nappe", "--depuis", mauvais, "--valeur", "forte",
                          "--dossier", territoire)
    assert code == 2 and "attendu SOURCE=CLASSE" in sortie


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_systemes_de_coordonnees_faux_ou_absents(territoire, tmp_path, capsys):
    """Déclaré Lambert-93 mais en degrés, déclaré Web Mercator mais en Lambert-93, ou sans système : message qui
    dit d'utiliser --crs, couche inchangée ; --crs impose le bon système."""
    bon = ecrire_geojson(tmp_path / "cavites.geojson", [(Point(3.65, 43.40), {})])
    assert lancer(capsys, "importer", "cavites", "--depuis", bon, "--dossier", territoire)[0] == 0
    avant = etat(territoire, "cavites")

    en_degres = ecrire_geojson(tmp_path / "degres.geojson", [(Point(3.65, 43.40), {}), (Point(3.55, 43.41), {})],
                               crs="EPSG:2154")
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", en_degres, "--dossier", territoire)
    assert code == 2 and "degrés alors que le système déclaré (EPSG:2154)" in sortie and "--crs EPSG:4326" in sortie
    assert etat(territoire, "cavites") == avant
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", en_degres, "--crs", "EPSG:4326",
                          "--dossier", territoire)
    assert code == 0, sortie
    assert len(lire_couche("cavites", territoire)) == 2
    avant = etat(territoire, "cavites")

    lambert = gpd.GeoSeries([Point(3.65, 43.40)], crs=4326).to_crs(2154)[0]
    faux = ecrire_geojson(tmp_path / "mercator.geojson", [(lambert, {})], crs="EPSG:3857")
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", faux, "--dossier", territoire)
    assert code == 2 and "aucune des 1 entités n'est dans les communes du territoire" in sortie
    assert "--crs EPSG:2154" in sortie
    assert etat(territoire, "cavites") == avant

    metres = ecrire_geojson(tmp_path / "metres.geojson", [(lambert, {})])  # GeoJSON sans « crs » : WGS84 supposé
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", metres, "--dossier", territoire)
    assert code == 2 and "hors des bornes de WGS84" in sortie and "--crs EPSG:2154" in sortie
    assert etat(territoire, "cavites") == avant

    sans = gpd.GeoDataFrame({"nature": ["cave"]}, geometry=[lambert])  # aucun système : pas de .prj
    sans.to_file(tmp_path / "sans.shp")
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", tmp_path / "sans.shp", "--dossier", territoire)
    assert code == 2 and "système de coordonnées absent" in sortie and "--crs" in sortie
    assert etat(territoire, "cavites") == avant
    code, sortie = lancer(capsys, "importer", "cavites", "--depuis", tmp_path / "sans.shp", "--crs", "EPSG:2154",
                          "--dossier", territoire)
    assert code == 0, sortie
    assert lire_couche("cavites", territoire)["nature"].tolist() == ["cave"]


def test_sans_service_national_et_demonstration(territoire, dossier_demo_copie, capsys):
    for couche, attendu in (("sol", "importer sol --depuis"), ("captages", "ARS")):
        code, sortie = lancer(capsys, "importer", couche, "--telecharger", "--dossier", territoire)
        assert code == 2 and attendu in sortie and "--depuis" in sortie
        assert not chemin_couche(couche, territoire).exists()
    code, sortie = lancer(capsys, "importer", "communes", "--colonne", "X", "--depuis", "f.geojson",
                          "--dossier", territoire)
    assert code == 2 and "couches de critères" in sortie
    code, sortie = lancer(capsys, "importer", "cavites", "--dossier", dossier_demo_copie)
    assert code == 2 and "démonstration" in sortie


# ------------------------------------------------------------------------------------ Géorisques


@pytest.fixture
def georisques(monkeypatch):
    """Serveur local : réponses Géorisques par (chemin, code INSEE, page), pannes de tests/serveur_sources.py."""
    from serveur_sources import ServeurSources

    class ServeurGeorisques(ServeurSources):
        def __init__(self):
            self.reponses: dict[tuple[str, str, int], dict] = {}
            super().__init__()

        def contenu(self, chemin, requete):
            if chemin.startswith("/api/v1/"):
                cle = (chemin, requete.get("code_insee", [""])[0], int(requete.get("page", ["1"])[0]))
                corps = self.reponses.get(cle, {"results": 0, "page": 1, "total_pages": 1, "data": []})
                return json.dumps(corps, ensure_ascii=False).encode("utf-8")
            return super().contenu(chemin, requete)

    serveur = ServeurGeorisques()
    monkeypatch.setenv("DESIMPER_URL_GEORISQUES", serveur.url + "/api/v1")
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_DELAI_S", "0.5")
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_ESSAIS", "3")
    monkeypatch.setenv("DESIMPER_TELECHARGEMENT_ATTENTE_S", "0.01")
    yield serveur
    serveur.arreter()


def _page(elements: list[dict], page: int = 1, pages: int = 1) -> dict:
    return {"results": len(elements), "page": page, "total_pages": pages, "data": elements}


def test_sites_pollues_telecharges(territoire, georisques, capsys):
    """SIS (polygone GeoJSON), ex-BASOL (WKT) et CASIAS (longitude/latitude, deux pages) de chaque commune ; un
    site sans position est écarté ; fiche : téléchargement, adresses, Licence Ouverte, millésime du serveur."""
    georisques.reponses[("/api/v1/ssp/conclusions_sis", SETE, 1)] = _page([
        {"nom": "Ancienne usine à gaz", "geom": mapping(box(3.61, 43.39, 3.612, 43.392))}])
    georisques.reponses[("/api/v1/ssp/instructions", MEZE, 1)] = _page([
        {"nom_site": "Dépôt", "geom": box(3.55, 43.40, 3.551, 43.401).wkt}])
    georisques.reponses[("/api/v1/ssp/casias", SETE, 1)] = _page([
        {"nom_etablissement": "Garage", "longitude": 3.65, "latitude": 43.40},
        {"nom_etablissement": "Sans adresse", "longitude": None, "latitude": None}], 1, 2)
    georisques.reponses[("/api/v1/ssp/casias", SETE, 2)] = _page([
        {"nom_etablissement": "Teinturerie", "longitude": 3.66, "latitude": 43.41}], 2, 2)
    code, sortie = lancer(capsys, "importer", "sites_pollues", "--dossier", territoire)
    assert code == 0, sortie
    assert "1 élément(s) sans position" in sortie
    sites = lire_couche("sites_pollues", territoire)
    assert sorted(zip(sites["code_insee"], sites["type"], sites["nom"])) == [
        (MEZE, "SIS", "Dépôt"), (SETE, "CASIAS", "Garage"), (SETE, "CASIAS", "Teinturerie"),
        (SETE, "SIS", "Ancienne usine à gaz")]
    fiche = lire_sources(territoire)["sites_pollues"]
    assert fiche["origine"] == "telechargement" and fiche["licence"] == "Licence Ouverte / Etalab 2.0"
    assert fiche["millesime"] == "2025-04-01" and fiche["par_commune"] == {MEZE: 1, SETE: 3}
    assert len(fiche["urls"]) == 7 and all(u.startswith(georisques.url + "/api/v1/ssp/") for u in fiche["urls"])
    assert "Géorisques" in fiche["attribution"]
    # Réimport : rien de retéléchargé (cache), même couche.
    avant, requetes = etat(territoire, "sites_pollues")[0], len(georisques.requetes)
    assert lancer(capsys, "importer", "sites_pollues", "--telecharger", "--dossier", territoire)[0] == 0
    assert len(georisques.requetes) == requetes and etat(territoire, "sites_pollues")[0] == avant


def test_cavites_et_nappe_telechargees_vides_ou_classees(territoire, georisques, capsys):
    """Aucune cavité recensée : couche vide valide (elle compte comme connue) ; nappe : libellés traduits."""
    code, sortie = lancer(capsys, "importer", "cavites", "--dossier", territoire)
    assert code == 0, sortie
    assert "couche cavites vide" in sortie
    assert len(lire_couche("cavites", territoire)) == 0 and lire_sources(territoire)["cavites"]["nombre"] == 0
    georisques.reponses[("/api/v1/remontee_nappe", SETE, 1)] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(box(3.61, 43.39, 3.62, 43.40)),
         "properties": {"libelle": "Zones potentiellement sujettes aux inondations de cave"}}]}
    code, sortie = lancer(capsys, "importer", "nappe", "--dossier", territoire)
    assert code == 0, sortie
    assert lire_couche("nappe", territoire)["classe"].tolist() == ["cave"]


@pytest.mark.parametrize("panne, attendu, requetes", [
    ("404", "le serveur a répondu 404", 1),
    ("500", "après 3 essais : le serveur a répondu 500", 3),
    ("lenteur", "délai dépassé", 3),
    ("incomplet", "fichier incomplet", 3),
    ("gzip_tronque", "Réponse de Géorisques illisible ou tronquée", 1),
])
def test_pannes_de_telechargement(territoire, georisques, capsys, panne, attendu, requetes):
    georisques.reponses[("/api/v1/cavites", SETE, 1)] = _page([{"type": "naturelle", "longitude": 3.65,
                                                                  "latitude": 43.40}])
    assert lancer(capsys, "importer", "cavites", "--dossier", territoire)[0] == 0
    avant = etat(territoire, "cavites")
    georisques.pannes["/api/v1/cavites"] = panne
    georisques.requetes.clear()
    code, sortie = lancer(capsys, "importer", "cavites", "--forcer", "--dossier", territoire)
    assert code == 2 and attendu in sortie and "Traceback" not in sortie
    if panne != "gzip_tronque":
        assert "desimper importer cavites --depuis FICHIER" in sortie
    assert len(georisques.requetes) == requetes
    assert etat(territoire, "cavites") == avant
    cache = territoire / "telechargements"
    echouee = f"{georisques.url}/api/v1/cavites?code_insee={SETE}&page=1&page_size=100"
    assert not chemin_cache(echouee, cache).exists()  # rien de douteux gardé en cache
    assert (cache / "a-telecharger-cavites.txt").read_text().startswith(echouee + "\n")


def test_adresse_de_georisques_dans_le_territoire(territoire, georisques, capsys, monkeypatch):
    """Sans variable d'environnement, l'adresse de base vient de la clé sources.georisques de territoire.json."""
    from donnees.import_criteres import URL_GEORISQUES, url_georisques

    monkeypatch.delenv("DESIMPER_URL_GEORISQUES")
    assert url_georisques(lire_territoire(territoire)) == URL_GEORISQUES
    description = lire_territoire(territoire)
    description["sources"] = {**description["sources"], "georisques": georisques.url + "/api/v1/"}
    ecrire_territoire(description, territoire)
    assert lancer(capsys, "importer", "cavites", "--dossier", territoire)[0] == 0
    assert georisques.nombre_requetes("/api/v1/cavites?code_insee=") == 2


# ------------------------------------------------------------------------------------ potentiel


def test_le_potentiel_lit_les_couches_stockees(dossier_demo_copie, tmp_path, capsys):
    """Démonstration passée en territoire « réel » : un SIS importé sur une parcelle l'exclut ; les couches de
    critères stockées (démonstration, sans captages, et import) sont toutes lues ; une couche importée de plus
    monte la confiance, une couche retirée la baisse."""
    from donnees.partitions import lister_communes
    from services.modeles import calculer_modeles_territoire
    from services.potentiel import calculer_potentiel_commune, lire_couches_criteres

    dossier = dossier_demo_copie
    assert set(lire_couches_criteres(dossier)) == {"sol", "nappe", "sites_pollues", "cavites"}
    assert lire_sources(dossier)["sites_pollues"]["source"] == "Démonstration (données synthétiques)"
    description = lire_territoire(dossier)
    description["demo"] = False
    ecrire_territoire(description, dossier)
    code = lister_communes("parcelles", dossier)[0]
    parcelles = lire_couche("parcelles", dossier, communes=[code]).to_crs(2154)
    cible = parcelles.iloc[len(parcelles) // 2]
    sis = gpd.GeoSeries([cible.geometry.representative_point().buffer(1)], crs=2154).to_crs(4326)[0]
    fichier = ecrire_geojson(tmp_path / "sis.geojson", [(sis, {"type": "SIS"})])
    resultat, sortie = lancer(capsys, "importer", "sites_pollues", "--depuis", fichier, "--dossier", dossier)
    assert resultat == 0, sortie
    assert lire_sources(dossier)["sites_pollues"]["origine"] == "fichier"

    modeles = calculer_modeles_territoire(dossier)
    potentiel = calculer_potentiel_commune(code, dossier, modeles=modeles).set_index("id")
    assert potentiel.at[cible["id"], "classe_potentiel"] == "exclu"
    assert potentiel.at[cible["id"], "score_potentiel"] == 0
    assert potentiel["confiance_potentiel"].to_numpy() == pytest.approx(6 / 7)
    assert (potentiel["couches_manquantes"] == "périmètres de protection des captages (ARS)").all()
    assert potentiel["motifs"].str.contains("sol du groupe").all()  # couche des sols de la démonstration
    sans = calculer_potentiel_commune(code, dossier, couches={}, modeles=modeles)  # appel explicite : aucune
    assert sans["confiance_potentiel"].to_numpy() == pytest.approx(2 / 7)
    assert "exclu" not in set(sans["classe_potentiel"])
    perimetre = gpd.GeoSeries([cible.geometry.buffer(50)], crs=2154).to_crs(4326)[0]
    captages = ecrire_geojson(tmp_path / "captages.geojson", [(perimetre, {"perimetre": "PPR"})])
    resultat, sortie = lancer(capsys, "importer", "captages", "--depuis", captages, "--dossier", dossier)
    assert resultat == 0, sortie
    plus = calculer_potentiel_commune(code, dossier, modeles=modeles).set_index("id")
    assert (plus["confiance_potentiel"] == 1.0).all() and (plus["couches_manquantes"] == "").all()
    voisines = plus.index[plus["motifs"].str.contains("périmètre de protection rapprochée")]
    assert len(voisines) and plus.loc[voisines, "classe_potentiel"].ne("inconnu").all()
    chemin_couche("cavites", dossier).unlink()
    assert "cavites" not in lire_couches_criteres(dossier)
    moins = calculer_potentiel_commune(code, dossier, modeles=modeles)
    assert moins["confiance_potentiel"].iloc[0] == pytest.approx(6 / 7)
    assert "cavités" in moins["couches_manquantes"].iloc[0]


def test_la_demonstration_ecrit_des_criteres_deterministes(dossier_demo, tmp_path):
    """Couches de critères de la démonstration : valides, marquées démonstration, identiques à graine égale."""
    from donnees.demo.criteres import generer_criteres
    from donnees.demo.parametres import lire_parametres

    assert not chemin_couche("captages", dossier_demo).exists()  # pas de données ouvertes : absente
    for nom in ("sol", "nappe", "sites_pollues", "cavites"):
        fiche = lire_sources(dossier_demo)[nom]
        assert fiche["demo"] is True and fiche["origine"] == "demonstration"
        assert fiche["nombre"] == len(lire_couche(nom, dossier_demo))
    assert set(lire_couche("sol", dossier_demo)["code_insee"]) == set(lire_territoire(dossier_demo)["codes_insee"])
    assert {"SIS", "CASIAS"} == set(lire_couche("sites_pollues", dossier_demo)["type"])
    communes = lire_couche("communes", dossier_demo).to_crs(2154)
    parcelles = lire_couche("parcelles", dossier_demo).to_crs(2154)
    rang = communes.reset_index().set_index("code_insee").loc[parcelles["commune"], "index"].to_numpy()
    une = generer_criteres(communes.geometry.values, communes["code_insee"].to_numpy(), parcelles.geometry.values,
                           rang, lire_parametres(), 7)
    deux = generer_criteres(communes.geometry.values, communes["code_insee"].to_numpy(), parcelles.geometry.values,
                            rang, lire_parametres(), 7)
    for nom in une:
        assert (shapely.to_wkb(une[nom].geometry.values) == shapely.to_wkb(deux[nom].geometry.values)).all()
        assert une[nom].drop(columns="geometry").equals(deux[nom].drop(columns="geometry"))
