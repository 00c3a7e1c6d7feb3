"""Territoire réel : initialisation par codes INSEE, import des communes, du cadastre et de l'OCS GE.

Les sources officielles sont simulées par le serveur local ``serveur_sources`` (tests/serveur_sources.py).
Chaque entrée fautive doit donner un message en français et laisser la couche précédente intacte.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

import cli
from donnees.partitions import est_partitionnee, lire_manifeste
from donnees.referentiel import chemin_couche, couches_presentes, ecrire_territoire, lire_couche, lire_territoire
from donnees.sources import lire_sources
from serveur_sources import PREFIXE_CADASTRE, fichier_partage

URL_PARCELLES_34202 = PREFIXE_CADASTRE + "34/34202/cadastre-34202-parcelles.json.gz"


@pytest.fixture(autouse=True)
def _sans_base_externe(monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)


def codes_thau() -> list[str]:
    return pd.read_csv(fichier_partage("communes-bassin-thau.csv"), dtype=str)["code_insee"].tolist()


def lancer(capsys, *arguments) -> tuple[int, str]:
    """Lance `desimper …` et renvoie (code, sortie + erreurs)."""
    code = cli.main([str(a) for a in arguments])
    sortie = capsys.readouterr()
    return code, sortie.out + sortie.err


def initialiser(capsys, dossier: Path, codes: list[str], nom: str = "Territoire d'essai") -> None:
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", nom, "--insee", ",".join(codes),
                          "--dossier", dossier)
    assert code == 0, sortie


def octets(dossier: Path, couche: str) -> bytes:
    return chemin_couche(couche, dossier).read_bytes()


def contenu(dossier: Path, couche: str):
    """Contenu d'une couche, sans ce qui change à chaque écriture identique (noms de fichiers neufs et date du
    manifeste d'une couche rangée par commune) : empreinte SHA-256 et lignes de chaque partition."""
    if not est_partitionnee(couche, dossier):
        return octets(dossier, couche)
    return [(code, e["empreinte"], e["lignes"]) for code, e in lire_manifeste(couche, dossier)["partitions"].items()]


def lire_brute(dossier: Path, couche: str) -> gpd.GeoDataFrame:
    """Fichiers Parquet de la couche lus tels quels (sans lire_couche)."""
    if not est_partitionnee(couche, dossier):
        return gpd.read_parquet(chemin_couche(couche, dossier))
    parties = [e["fichier"] for e in lire_manifeste(couche, dossier)["partitions"].values() if e["fichier"]]
    return pd.concat([gpd.read_parquet(dossier / couche / f) for f in parties], ignore_index=True)


def geojson(entites: list[dict], crs: str | None = None) -> bytes:
    contenu = {"type": "FeatureCollection", "features": entites}
    if crs:
        contenu["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(contenu).encode("utf-8")


def parcelle(identifiant: str, geometrie, commune: str = "34202", id_entite: str | None = None) -> dict:
    return {"type": "Feature", "id": id_entite or identifiant, "geometry": shapely.geometry.mapping(geometrie),
            "properties": {"id": identifiant, "commune": commune, "prefixe": identifiant[5:8],
                           "section": identifiant[8:10], "numero": str(int(identifiant[10:])),
                           "contenance": 100}}


# ---------------------------------------------------------------------------------------- territoire


def test_initialiser_ecrit_le_territoire_et_refuse_d_ecraser(tmp_path, capsys):
    from indicateurs.parametres import lire_parametres

    initialiser(capsys, tmp_path, ["34301", "34157", "2A004", "97411"], nom="Bassin d'essai")
    territoire = lire_territoire(tmp_path)
    assert territoire["nom"] == "Bassin d'essai" and territoire["demo"] is False
    assert territoire["codes_insee"] == ["34301", "34157", "2A004", "97411"]
    assert lire_parametres(territoire["parametres"]).en_dict() == lire_parametres().en_dict()
    assert territoire["sources"] == {"geo_api": "https://geo.api.gouv.fr",
                                     "cadastre": "https://cadastre.data.gouv.fr"}
    avant = (tmp_path / "territoire.json").read_bytes()
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", "Autre", "--insee", "34003",
                          "--dossier", tmp_path)
    assert code == 2 and "déjà un territoire réel" in sortie and "--remplacer" in sortie
    assert (tmp_path / "territoire.json").read_bytes() == avant


@pytest.mark.parametrize("codes, attendu", [("3430", "invalides"), ("34301,ABCDE", "invalides"),
                                             ("34301,34301", "en double"), ("", "Aucun code")])
def test_initialiser_codes_insee_invalides(tmp_path, capsys, codes, attendu):
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", "X", "--insee", codes,
                          "--dossier", tmp_path)
    assert code == 2 and attendu in sortie and "Traceback" not in sortie
    assert not (tmp_path / "territoire.json").exists()


def test_remplacer_la_demonstration_range_ses_fichiers(dossier_demo_copie, capsys):
    assert lire_sources(dossier_demo_copie)["parcelles"]["demo"] is True  # le générateur a noté ses sources
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", "Réel", "--insee", "34301",
                          "--dossier", dossier_demo_copie)
    assert code == 2 and "démonstration" in sortie
    code, sortie = lancer(capsys, "territoire", "initialiser", "--nom", "Réel", "--insee", "34301",
                          "--remplacer", "--dossier", dossier_demo_copie)
    assert code == 0, sortie
    assert not any(couches_presentes(dossier_demo_copie).values())
    assert not (dossier_demo_copie / "photos").exists() and lire_sources(dossier_demo_copie) == {}
    archive = next((dossier_demo_copie / "archives").glob("demo-*"))
    assert (archive / "parcelles" / "_manifeste.json").exists() and (archive / "desimper.sqlite").exists()
    code, sortie = lancer(capsys, "verifier", "--dossier", dossier_demo_copie)
    assert "opération : 0" in sortie or "operation : 0" in sortie


def test_import_refuse_sur_la_demonstration(dossier_demo_copie, capsys, serveur_sources):
    avant = octets(dossier_demo_copie, "communes")
    code, sortie = lancer(capsys, "importer", "communes", "--dossier", dossier_demo_copie)
    assert code == 2 and "démonstration" in sortie and "territoire initialiser" in sortie
    assert octets(dossier_demo_copie, "communes") == avant


# ----------------------------------------------------------------------------------------- communes


def test_bout_en_bout_les_25_communes_reelles(tmp_path, capsys, serveur_sources):
    attendu = pd.read_csv(fichier_partage("communes-bassin-thau.csv"), dtype={"code_insee": str})
    initialiser(capsys, tmp_path, codes_thau(), nom="Bassin de Thau")
    code, sortie = lancer(capsys, "importer", "communes", "--telecharger", "--dossier", tmp_path)
    assert code == 0, sortie
    assert "34301 Sète : 1" in sortie and "Licence Ouverte / Etalab 2.0" in sortie
    communes = lire_couche("communes", tmp_path).sort_values("code_insee")
    assert communes["code_insee"].tolist() == sorted(attendu["code_insee"])
    assert dict(zip(communes["code_insee"], communes["nom"])) == dict(zip(attendu["code_insee"], attendu["nom"]))
    assert communes["population"].sum() == attendu["population_municipale"].sum()
    affichage = lire_couche("communes_affichage", tmp_path)
    assert sorted(affichage["code_insee"]) == sorted(attendu["code_insee"])
    # Une requête par commune (l'API ne prend qu'un code) ; une machine chargée peut dépasser le délai de 0,5 s
    # et relancer une requête : on compte les chemins distincts.
    assert len(set(serveur_sources.requetes)) == 25

    fiche = lire_sources(tmp_path)["communes"]
    assert fiche["origine"] == "telechargement" and fiche["nombre"] == 25 and len(fiche["urls"]) == 25
    assert fiche["attribution"].startswith("Source : IGN – ADMIN EXPRESS") and fiche["millesime"] == "2025-04-01"
    assert fiche["par_commune"]["34301"] == 1 and fiche["demo"] is False
    assert set(lire_sources(tmp_path)) == {"communes", "communes_affichage"}

    # Réimport : même couche, rien de retéléchargé (cache).
    avant = lire_couche("communes", tmp_path)
    code, sortie = lancer(capsys, "importer", "communes", "--dossier", tmp_path)
    assert code == 0, sortie
    assert len(serveur_sources.requetes) == 25
    pd.testing.assert_frame_equal(pd.DataFrame(lire_couche("communes", tmp_path)), pd.DataFrame(avant))

    code, sortie = lancer(capsys, "verifier", "--dossier", tmp_path)
    assert code == 0, sortie
    assert "Bassin de Thau (territoire réel) : 25 communes" in sortie
    assert "ℹ parcelles cadastrales : couche facultative non importée" in sortie
    assert "Tout est en ordre" in sortie


def test_communes_code_inconnu_laisse_la_couche(tmp_path, capsys, serveur_sources):
    initialiser(capsys, tmp_path, ["34301", "34157"])
    assert lancer(capsys, "importer", "communes", "--dossier", tmp_path)[0] == 0
    avant = octets(tmp_path, "communes"), octets(tmp_path, "communes_affichage")
    territoire = lire_territoire(tmp_path)
    territoire["codes_insee"].append("34999")
    ecrire_territoire(territoire, tmp_path)
    code, sortie = lancer(capsys, "importer", "communes", "--dossier", tmp_path)
    assert code == 2 and "Codes INSEE inconnus de geo.api.gouv.fr : 34999" in sortie
    assert (octets(tmp_path, "communes"), octets(tmp_path, "communes_affichage")) == avant


def test_communes_depuis_fichiers(tmp_path, capsys, serveur_sources):
    initialiser(capsys, tmp_path, ["34301", "34157"])
    thau = fichier_partage("communes-bassin-thau.geojson")  # forme code_insee / population_municipale
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", thau, "--millesime", "2018",
                          "--dossier", tmp_path)
    assert code == 0, sortie
    assert sorted(lire_couche("communes", tmp_path)["nom"]) == ["Mèze", "Sète"]
    fiche = lire_sources(tmp_path)["communes"]
    assert fiche["origine"] == "fichier" and fiche["millesime"] == "2018" and fiche["urls"] == []
    avant = octets(tmp_path, "communes")

    autre = tmp_path / "gard.geojson"
    autre.write_bytes(geojson([{"type": "Feature", "geometry": shapely.geometry.mapping(box(4.3, 43.8, 4.4, 43.9)),
                                "properties": {"code": "30189", "nom": "Nîmes", "population": 148000}}]))
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", autre, "--dossier", tmp_path)
    assert code == 2 and "département(s) 30" in sortie and "(34)" in sortie
    herault = fichier_partage("communes-herault-34.geojson")  # ADMIN EXPRESS sans population
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", herault, "--dossier", tmp_path)
    assert code == 2 and "Population absente" in sortie
    assert octets(tmp_path, "communes") == avant

    # IGN ADMIN EXPRESS : Shapefile en Lambert-93, champs INSEE_COM, NOM, POPULATION.
    thau_l93 = gpd.read_file(thau).to_crs(2154)
    admin = gpd.GeoDataFrame({"INSEE_COM": thau_l93["code_insee"], "NOM": thau_l93["nom"],
                              "POPULATION": thau_l93["population_municipale"]}, geometry=thau_l93.geometry)
    admin.to_file(tmp_path / "COMMUNE.shp")
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", tmp_path / "COMMUNE.shp", "--dossier", tmp_path)
    assert code == 0, sortie
    communes = lire_couche("communes", tmp_path).set_index("code_insee")
    assert communes.loc["34301", "nom"] == "Sète" and communes.loc["34301", "population"] == 45337
    assert communes.crs.to_epsg() == 4326 and lire_sources(tmp_path)["communes"]["fichiers"][0].endswith("COMMUNE.shp")


# ---------------------------------------------------------------------------------- cadastre Etalab


def test_parcelles_et_batiments_telecharges(tmp_path, capsys, serveur_sources):
    initialiser(capsys, tmp_path, ["34202"])
    code, sortie = lancer(capsys, "importer", "parcelles", "--dossier", tmp_path)
    assert code == 0, sortie
    assert "2 entité(s) dont l'identifiant diffère de properties.id" in sortie
    assert "34202000AA0266 ≠ 34202000BM0176" in sortie
    echantillon = json.loads(fichier_partage("cadastre-34202-parcelles-echantillon.json").read_text())
    parcelles = lire_couche("parcelles", tmp_path)
    assert sorted(parcelles["id"]) == sorted(e["properties"]["id"] for e in echantillon["features"])
    assert "34202000AA0266" not in set(parcelles["id"])  # l'id d'entité n'est pas retenu
    assert "34202 : 14" in sortie
    code, sortie = lancer(capsys, "importer", "batiments", "--telecharger", "--dossier", tmp_path)
    assert code == 0, sortie
    batiments = lire_couche("batiments", tmp_path)
    assert len(batiments) == 5 and set(batiments["commune"]) == {"34202"} and set(batiments["type"]) == {"01"}
    sources = lire_sources(tmp_path)
    assert sources["parcelles"]["attribution"] == "Source : DGFiP – cadastre Etalab (Licence Ouverte / Etalab 2.0)"
    assert sources["batiments"]["nombre"] == 5 and sources["parcelles"]["millesime"] == "2025-04-01"

    # Réimport depuis le fichier gzip du cache : couches identiques (idempotent).
    avant = contenu(tmp_path, "parcelles"), contenu(tmp_path, "batiments")
    gz = tmp_path / "cadastre-34202-parcelles.json.gz"
    gz.write_bytes(gzip.compress(fichier_partage("cadastre-34202-parcelles-echantillon.json").read_bytes()))
    assert lancer(capsys, "importer", "parcelles", "--depuis", gz, "--dossier", tmp_path)[0] == 0
    assert lancer(capsys, "importer", "batiments", "--dossier", tmp_path)[0] == 0
    pd.testing.assert_frame_equal(pd.DataFrame(lire_couche("parcelles", tmp_path)),
                                  pd.DataFrame(lire_brute(tmp_path, "parcelles")))
    assert contenu(tmp_path, "batiments") == avant[1]
    assert sorted(lire_couche("parcelles", tmp_path)["id"]) == sorted(parcelles["id"])


@pytest.fixture
def parcelles_importees(tmp_path, capsys, serveur_sources) -> Path:
    initialiser(capsys, tmp_path, ["34202"])
    code, sortie = lancer(capsys, "importer", "parcelles", "--dossier", tmp_path)
    assert code == 0, sortie
    return tmp_path


@pytest.mark.parametrize("panne, attendu, requetes", [
    ("404", "le serveur a répondu 404", 1),
    ("500", "après 3 essais : le serveur a répondu 500", 3),
    ("lenteur", "délai dépassé", 3),
    ("gzip_tronque", "gzip tronqué ou corrompu", 3),
    ("incomplet", "Téléchargement impossible", 3),
])
def test_pannes_de_telechargement(parcelles_importees, capsys, serveur_sources, panne, attendu, requetes):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    serveur_sources.pannes[URL_PARCELLES_34202] = panne
    serveur_sources.requetes.clear()
    code, sortie = lancer(capsys, "importer", "parcelles", "--telecharger", "--forcer", "--dossier", dossier)
    assert code == 2, sortie
    assert attendu in sortie, sortie
    assert serveur_sources.url + URL_PARCELLES_34202 in sortie
    assert "--depuis cadastre-34202-parcelles.json.gz" in sortie
    assert len(serveur_sources.requetes) == requetes
    assert octets(dossier, "parcelles") == avant
    cache = dossier / "telechargements"
    assert not [f for f in cache.iterdir() if "parcelles.json" in f.name]  # rien de douteux gardé en cache
    assert (cache / "a-telecharger-parcelles.txt").read_text() == serveur_sources.url + URL_PARCELLES_34202 + "\n"


def test_erreur_500_passagere_reessayee(tmp_path, capsys, serveur_sources):
    initialiser(capsys, tmp_path, ["34202"])
    serveur_sources.pannes[URL_PARCELLES_34202] = "500_puis_ok"
    code, sortie = lancer(capsys, "importer", "parcelles", "--dossier", tmp_path)
    assert code == 0, sortie
    assert serveur_sources.nombre_requetes("parcelles") == 2


def test_hors_ligne(tmp_path, capsys, serveur_sources, monkeypatch):
    initialiser(capsys, tmp_path, ["34202"])
    serveur_sources.arreter()
    code, sortie = lancer(capsys, "importer", "parcelles", "--dossier", tmp_path)
    assert code == 2
    assert "serveur injoignable" in sortie and "hors ligne" in sortie.lower()
    assert "desimper importer parcelles --depuis cadastre-34202-parcelles.json.gz" in sortie
    assert not chemin_couche("parcelles", tmp_path).exists()


def test_fichier_d_un_autre_departement(parcelles_importees, capsys, serveur_sources):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    gard = geojson([parcelle("30189000AB0001", box(4.36, 43.83, 4.361, 43.831), commune="30189")])
    serveur_sources.fichiers[URL_PARCELLES_34202] = gzip.compress(gard)
    code, sortie = lancer(capsys, "importer", "parcelles", "--forcer", "--dossier", dossier)
    assert code == 2
    assert "demandé pour la commune 34202 (département 34)" in sortie and "(département 30)" in sortie
    fichier = dossier / "gard.json"
    fichier.write_bytes(gard)
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", fichier, "--dossier", dossier)
    assert code == 2 and "hors du territoire : 30189 (département 30)" in sortie
    assert octets(dossier, "parcelles") == avant


def test_identifiants_de_parcelles_en_double(parcelles_importees, capsys):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    doublon = dossier / "doublons.json"
    doublon.write_bytes(geojson([parcelle("34202000BM0171", box(3.77, 43.60, 3.771, 43.601)),
                                 parcelle("34202000BM0171", box(3.78, 43.60, 3.781, 43.601))]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", doublon, "--dossier", dossier)
    assert code == 2 and "identifiants en double" in sortie and "34202000BM0171" in sortie
    assert octets(dossier, "parcelles") == avant
    # Le même fichier passé deux fois : doublons identiques, un seul gardé avec un avertissement.
    echantillon = fichier_partage("cadastre-34202-parcelles-echantillon.json")
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", echantillon, echantillon, "--dossier", dossier)
    assert code == 0, sortie
    assert "14 entité(s) en double à l'identique" in sortie
    assert len(lire_couche("parcelles", dossier)) == 14


def test_systemes_de_coordonnees_melanges_ou_absents(parcelles_importees, capsys):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    wgs84 = box(3.77, 43.60, 3.771, 43.601)
    lambert = shapely.transform(wgs84, lambda c: c)  # même forme, coordonnées Lambert-93 ci-dessous
    lambert = gpd.GeoSeries([wgs84], crs=4326).to_crs(2154).iloc[0]
    melange = dossier / "melange.json"
    melange.write_bytes(geojson([parcelle("34202000BM0001", wgs84), parcelle("34202000BM0002", lambert)]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", melange, "--dossier", dossier)
    assert code == 2 and "systèmes de coordonnées mélangés" in sortie and "entités 2" in sortie
    absent = dossier / "sans_crs.json"
    absent.write_bytes(geojson([parcelle("34202000BM0002", lambert)]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", absent, "--dossier", dossier)
    assert code == 2 and "système de coordonnées absent" in sortie and "--crs EPSG:2154" in sortie
    declare = dossier / "declare_2154.json"
    declare.write_bytes(geojson([parcelle("34202000BM0003", lambert)], crs="urn:ogc:def:crs:EPSG::2154"))
    wgs = dossier / "wgs84.json"
    wgs.write_bytes(geojson([parcelle("34202000BM0004", wgs84)]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", declare, wgs, "--dossier", dossier)
    assert code == 2 and "systèmes de coordonnées différents" in sortie
    shp = dossier / "sans_prj.shp"
    gpd.GeoDataFrame({"id": ["34202000BM0005"]}, geometry=[lambert], crs=2154).to_file(shp)
    shp.with_suffix(".prj").unlink()
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", shp, "--dossier", dossier)
    assert code == 2 and "système de coordonnées absent (fichier .prj manquant ?)" in sortie
    # Déclaré en Lambert-93 mais en degrés (tout le fichier, puis une seule entité).
    faux = dossier / "degres_declares_2154.json"
    faux.write_bytes(geojson([parcelle("34202000BM0006", wgs84)], crs="urn:ogc:def:crs:EPSG::2154"))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", faux, "--dossier", dossier)
    assert code == 2 and "coordonnées en degrés alors que le système déclaré (EPSG:2154) est en mètres" in sortie
    faux.write_bytes(geojson([parcelle("34202000BM0006", lambert), parcelle("34202000BM0007", wgs84)],
                             crs="urn:ogc:def:crs:EPSG::2154"))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", faux, "--dossier", dossier)
    assert code == 2 and "les entités 2 sont en degrés" in sortie
    assert octets(dossier, "parcelles") == avant
    # Système précisé : la couche est reprojetée en WGS84.
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", absent, "--crs", "EPSG:2154",
                          "--dossier", dossier)
    assert code == 0, sortie
    resultat = lire_couche("parcelles", dossier)
    assert resultat.crs.to_epsg() == 4326 and resultat.geometry.iloc[0].equals_exact(wgs84, 1e-6)


def test_couche_vide(parcelles_importees, capsys, serveur_sources):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    vide = dossier / "vide.json"
    vide.write_bytes(geojson([]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", vide, "--dossier", dossier)
    assert code == 2 and "Couche des parcelles vide" in sortie
    serveur_sources.fichiers[URL_PARCELLES_34202] = gzip.compress(geojson([]))
    code, sortie = lancer(capsys, "importer", "parcelles", "--forcer", "--dossier", dossier)
    assert code == 2 and "vide" in sortie
    assert octets(dossier, "parcelles") == avant


def test_gzip_tronque_en_local(parcelles_importees, capsys):
    dossier = parcelles_importees
    avant = octets(dossier, "parcelles")
    brut = gzip.compress(fichier_partage("cadastre-34202-parcelles-echantillon.json").read_bytes())
    tronque = dossier / "cadastre-34202-parcelles.json.gz"
    tronque.write_bytes(brut[: len(brut) // 2])
    code, sortie = lancer(capsys, "importer", "parcelles", "--depuis", tronque, "--dossier", dossier)
    assert code == 2 and "gzip tronqué ou corrompu" in sortie
    assert octets(dossier, "parcelles") == avant


# -------------------------------------------------------------------------------- occupation du sol


@pytest.fixture
def territoire_avec_communes(tmp_path, capsys, serveur_sources) -> Path:
    initialiser(capsys, tmp_path, ["34301", "34108"])  # Sète et Frontignan, voisines
    code, sortie = lancer(capsys, "importer", "occupation", "--depuis", tmp_path / "x.gpkg", "--dossier", tmp_path)
    assert code == 2 and "Importez d'abord les communes" in sortie
    assert lancer(capsys, "importer", "communes", "--dossier", tmp_path)[0] == 0
    return tmp_path


def ocsge(dossier: Path, codes_cs: list[str], nom: str = "ocsge.gpkg", colonne: str = "CODE_CS") -> Path:
    """GeoPackage façon OCS GE (Lambert-93) : un polygone dans chaque commune, un à cheval, un hors territoire."""
    communes = lire_couche("communes", dossier).to_crs(2154).set_index("code_insee")
    sete, frontignan = communes.loc["34301"].geometry, communes.loc["34108"].geometry
    frontiere = sete.intersection(frontignan.buffer(1)).representative_point()
    geometries = [sete.representative_point().buffer(30, quad_segs=2),
                  frontignan.representative_point().buffer(30, quad_segs=2),
                  frontiere.buffer(60, quad_segs=2), box(700000, 6200000, 700100, 6200100)]
    table = gpd.GeoDataFrame({"ID": [f"OCS{i}" for i in range(4)], colonne: codes_cs,
                              "CODE_US": ["US2", "US1.1", None, "US2"]}, geometry=geometries, crs=2154)
    chemin = dossier / nom
    table.to_file(chemin, layer="OCCUPATION_SOL" if colonne == "CODE_CS" else "classes", driver="GPKG")
    return chemin


def test_occupation_ocsge_decoupee_par_commune(territoire_avec_communes, capsys):
    dossier = territoire_avec_communes
    fichier = ocsge(dossier, ["CS1.1.1.1", "CS2.2.1", "CS1.1.1.2", "CS1.1.1.1"])
    code, sortie = lancer(capsys, "importer", "occupation", "--depuis", fichier, "--dossier", dossier)
    assert code == 0, sortie
    occupation = lire_couche("occupation", dossier)
    assert sorted(occupation["id"]) == ["OCS0", "OCS1", "OCS2-34108", "OCS2-34301"]  # hors territoire écarté
    assert occupation.groupby("code_insee").size().to_dict() == {"34108": 2, "34301": 2}
    assert "34301 Sète : 2" in sortie and "Source : IGN – OCS GE" in sortie
    avant = contenu(dossier, "occupation")
    assert lancer(capsys, "importer", "occupation", "--depuis", fichier, "--dossier", dossier)[0] == 0
    assert contenu(dossier, "occupation") == avant  # idempotent (partitions identiques)
    avant = octets(dossier, "occupation")  # un import refusé ne touche même pas au manifeste

    inconnus = ocsge(dossier, ["CS9.9", "CS8", "CS9.9", "CS1.1.1.1"], nom="inconnus.gpkg")
    code, sortie = lancer(capsys, "importer", "occupation", "--depuis", inconnus, "--dossier", dossier)
    assert code == 2
    assert "Codes OCS GE absents de la correspondance" in sortie and "CS9.9 (2 polygones)" in sortie
    assert "CS8" in sortie and "ocsge_revetements.csv" in sortie
    code, sortie = lancer(capsys, "importer", "occupation", "--telecharger", "--dossier", dossier)
    assert code == 2 and "geoservices.ign.fr" in sortie and "--depuis" in sortie
    assert octets(dossier, "occupation") == avant


def test_occupation_autre_couche_avec_correspondance(territoire_avec_communes, capsys):
    dossier = territoire_avec_communes
    fichier = ocsge(dossier, ["toit", "pelouse", "parking", "toit"], nom="classes.gpkg", colonne="classe")
    table = dossier / "correspondance.csv"
    table.write_text("valeur,code_cs,revetement\ntoit,CS1.1.1.1,\nparking,,enrobe\n", encoding="utf-8")
    code, sortie = lancer(capsys, "importer", "occupation", "--depuis", fichier, "--colonne-couverture", "classe",
                          "--correspondance", table, "--dossier", dossier)
    assert code == 2 and "absentes de la table de correspondance" in sortie and "pelouse" in sortie
    table.write_text("valeur,code_cs,revetement\ntoit,CS1.1.1.1,\nparking,,enrobe\npelouse,,pelouse\n",
                     encoding="utf-8")
    code, sortie = lancer(capsys, "importer", "occupation", "--depuis", fichier, "--colonne-couverture", "classe",
                          "--correspondance", table, "--dossier", dossier)
    assert code == 0, sortie
    occupation = lire_couche("occupation", dossier).set_index("id")
    assert occupation.loc["OCS2-34301", "code_cs"] == "CS1.1.1.2" and occupation.loc["OCS1", "code_cs"] == "CS2.2.1"
    code, sortie = lancer(capsys, "verifier", "--dossier", dossier)
    assert "occupation du sol (OCS GE) : 4 lignes valides" in sortie


# ------------------------------------------------------------------------------------- téléchargement


def test_telechargement_cache_et_controle_de_taille(tmp_path, serveur_sources):
    from donnees.telechargement import ErreurTelechargement, telecharger_fichier

    url = serveur_sources.url + URL_PARCELLES_34202
    premier = telecharger_fichier(url, tmp_path, attente_s=0)
    assert not premier.depuis_cache and premier.date_serveur == "2025-04-01"
    assert gzip.decompress(premier.chemin.read_bytes()).startswith(b'{"type":"FeatureCollection"')
    assert telecharger_fichier(url, tmp_path).depuis_cache
    assert serveur_sources.nombre_requetes("parcelles") == 1
    serveur_sources.pannes[URL_PARCELLES_34202] = "incomplet"
    with pytest.raises(ErreurTelechargement, match="fichier incomplet|connexion interrompue"):
        telecharger_fichier(url, tmp_path, forcer=True, essais=2, attente_s=0, delai_s=1)
    assert not premier.chemin.exists()


def test_communes_admin_express_geopackage_national(tmp_path, capsys):
    """GeoPackage façon ADMIN EXPRESS (couche COMMUNE, plusieurs couches) : seules les communes utiles lues."""
    initialiser(capsys, tmp_path, ["34301", "34157"])
    thau = gpd.read_file(fichier_partage("communes-bassin-thau.geojson")).to_crs(2154)
    admin = gpd.GeoDataFrame({"INSEE_COM": thau["code_insee"], "NOM": thau["nom"],
                              "POPULATION": thau["population_municipale"]}, geometry=thau.geometry)
    chemin = tmp_path / "ADMIN-EXPRESS.gpkg"
    admin.to_file(chemin, layer="COMMUNE", driver="GPKG")
    admin.dissolve().to_file(chemin, layer="DEPARTEMENT", driver="GPKG")
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", chemin, "--dossier", tmp_path)
    assert code == 0, sortie
    assert sorted(lire_couche("communes", tmp_path)["code_insee"]) == ["34157", "34301"]
    territoire = lire_territoire(tmp_path)
    territoire["codes_insee"] = ["30189"]
    ecrire_territoire(territoire, tmp_path)
    code, sortie = lancer(capsys, "importer", "communes", "--depuis", chemin, "--dossier", tmp_path)
    assert code == 2 and "couvre le(s) département(s) 34, pas celui ou ceux du territoire (30)" in sortie


def test_la_demo_n_ecrase_pas_un_territoire_reel(tmp_path, capsys):
    initialiser(capsys, tmp_path, ["34301"])
    code, sortie = lancer(capsys, "demo", "--taille", "petite", "--dossier", tmp_path)
    assert code == 2 and "contient un territoire réel" in sortie
    assert lire_territoire(tmp_path)["demo"] is False
