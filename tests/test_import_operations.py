"""Tests de l'import de fichiers d'opérations (donnees/import_operations.py).

Tous les fichiers sont fabriqués dans le test (tmp_path) ; l'écriture passe par un vrai Magasin SQLite.
Le test sur les données partagées (../shared) est ignoré si le dossier manque, sauf sous CI=true.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from donnees import import_operations as imp
from donnees.import_operations import archives, lecture
from donnees.import_operations import (
    ApercuImport,
    generer_modele_xlsx,
    importer,
    lire_fichier,
    preparer_import,
    proposer_correspondance,
)
from donnees.magasin import Magasin
from donnees.erreurs import ErreurDonnees
from outils import chemin_partage

VERS_4326 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
AUTEUR = "agent@mairie-sete.fr"

# Deux communes fictives carrées de 2 km, côte à côte (Lambert-93).
COMMUNE_A = box(700000, 6250000, 702000, 6252000)   # 34301
COMMUNE_B = box(702000, 6250000, 704000, 6252000)   # 34023


# ------------------------------------------------------------------------------------------ outils


def en_4326(geometrie):
    return shapely.transform(geometrie, lambda c: np.column_stack(VERS_4326.transform(c[:, 0], c[:, 1])))


def carre(x: float, y: float, cote: float = 30.0):
    """Carré Lambert-93 (coin bas-gauche x, y)."""
    return box(x, y, x + cote, y + cote)


def wkt(geometrie_l93) -> str:
    return shapely.to_wkt(en_4326(geometrie_l93), rounding_precision=9)


@pytest.fixture
def magasin(tmp_path) -> Magasin:
    m = Magasin(f"sqlite:///{tmp_path / 't.sqlite'}")
    m.creer_tables()
    yield m
    m.fermer()


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code_insee": ["34301", "34023"], "nom": ["Sète", "Balaruc-les-Bains"],
                             "population": [44000, 7000]},
                            geometry=[COMMUNE_A, COMMUNE_B], crs="EPSG:2154").to_crs("EPSG:4326")


@pytest.fixture
def parcelles() -> gpd.GeoDataFrame:
    """Petit cadastre Etalab de 34301 : AB 123 et AB 124 contiguës, AC 5, et 0A 7."""
    lignes = [("34301000AB0123", "000", "AB", "123", carre(701000, 6251000, 40)),
              ("34301000AB0124", "000", "AB", "124", carre(701040, 6251000, 40)),
              ("34301000AC0005", "000", "AC", "5", carre(701200, 6251200, 25)),
              ("343010000A0007", "000", "0A", "7", carre(701300, 6251300, 20))]
    return gpd.GeoDataFrame(
        {"id": [l[0] for l in lignes], "commune": "34301", "prefixe": [l[1] for l in lignes],
         "section": [l[2] for l in lignes], "numero": [l[3] for l in lignes],
         "contenance": [int(l[4].area) for l in lignes]},
        geometry=[l[4] for l in lignes], crs="EPSG:2154").to_crs("EPSG:4326")


LIGNE_BASE = {
    "nom": "Cour de l'école Jules-Ferry", "code_insee": "34301", "type_site": "cour_ecole",
    "statut": "realisee", "date_fin_travaux": "2023-09-15", "cout_ht_eur": "100000",
    "revetement_avant": "enrobe", "revetement_apres": "pelouse",
    "wkt": wkt(carre(700500, 6250500)),
}


def csv_octets(lignes: list[dict], separateur: str = ",", encodage: str = "utf-8") -> bytes:
    colonnes = list(dict.fromkeys(k for l in lignes for k in l))
    tampon = io.StringIO()
    ecrivain = csv.DictWriter(tampon, fieldnames=colonnes, delimiter=separateur, lineterminator="\n")
    ecrivain.writeheader()
    for ligne in lignes:
        ecrivain.writerow(ligne)
    return tampon.getvalue().encode(encodage)


def preparer_csv(lignes: list[dict], communes=None, nom="operations.csv", **options) -> ApercuImport:
    table = lire_fichier(csv_octets(lignes), nom)
    return preparer_import(table, proposer_correspondance(table), communes=communes, **options)


def messages(apercu: ApercuImport, niveau: str | None = None) -> list[str]:
    erreurs = apercu.erreurs
    if niveau:
        erreurs = erreurs[erreurs["niveau"] == niveau]
    return erreurs["message"].tolist()


def verifier_rien_ecrit(apercu: ApercuImport, magasin: Magasin) -> None:
    rapport = importer(apercu, magasin, AUTEUR, mode="tout_ou_rien")
    assert not rapport.ecrit and rapport.identifiants == []
    assert "Rien n'a été enregistré" in rapport.message
    assert magasin.compter()["operation"] == 0
    assert magasin.compter()["zone"] == 0


def feature(geometrie_4326, **proprietes) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometrie_4326), "properties": proprietes}


PROPRIETES = {"nom": "Parking de la gare", "code_insee": "34301", "type_site": "parking", "statut": "realisee",
              "date": "2022-06-30", "revetement_avant": "enrobe", "revetement_apres": "paves_enherbes"}


# ---------------------------------------------------------------------------------------- GeoJSON


def test_geojson_wgs84_multipolygone_et_3d(tmp_path, magasin, communes):
    multi = MultiPolygon([carre(700100, 6250100), carre(700200, 6250100)])
    z = Polygon([(x, y, 12.5) for x, y in en_4326(carre(700400, 6250400)).exterior.coords])
    collection = {"type": "FeatureCollection", "features": [
        feature(en_4326(multi), **PROPRIETES),
        feature(z, **{**PROPRIETES, "nom": "Parvis de la mairie", "type_site": "parvis"}),
    ]}
    chemin = tmp_path / "zones.geojson"
    chemin.write_text(json.dumps(collection), encoding="utf-8")
    table = lire_fichier(chemin)
    assert table.unite == "entité" and table.numeros == [1, 2]
    assert any("altitudes" in a for a in table.avertissements)
    assert not any(shapely.has_z(g) for g in table.geometries)

    apercu = preparer_import(table, proposer_correspondance(table), communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert apercu.lignes_valides == [1, 2]
    rapport = importer(apercu, magasin, AUTEUR)
    assert rapport.ecrit and len(rapport.identifiants) == 2
    zones = magasin.lire_zones()
    assert zones.geometry.iloc[0].geom_type == "MultiPolygon"
    assert zones["surface_m2"].iloc[0] == pytest.approx(1800, rel=1e-3)
    assert not zones.geometry.has_z.any()
    operation = magasin.lire_operation(rapport.identifiants[0])
    assert operation["date_fin_travaux"] == date(2022, 6, 30)
    assert operation["validation"] == "a_valider"


def test_geojson_lambert93_declare_dans_le_fichier(tmp_path, magasin, communes):
    collection = {"type": "FeatureCollection",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
                  "features": [feature(carre(700500, 6250500, 50), **PROPRIETES)]}
    chemin = tmp_path / "l93.geojson"
    chemin.write_text(json.dumps(collection), encoding="utf-8")
    table = lire_fichier(chemin)
    assert "2154" in table.crs_source
    xmin, ymin, _, _ = table.geometries[0].bounds
    assert 3 < xmin < 4 and 43 < ymin < 44
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert apercu.apercu["surface_m2"].iloc[0] == pytest.approx(2500, rel=1e-3)
    assert importer(apercu, magasin, AUTEUR).ecrit


def test_geojson_en_metres_sans_crs_demande_le_systeme(tmp_path, communes):
    collection = {"type": "FeatureCollection", "features": [feature(carre(700500, 6250500), **PROPRIETES)]}
    octets = json.dumps(collection).encode()
    with pytest.raises(ErreurDonnees, match="EPSG:2154") as exc:
        lire_fichier(octets, "metres.geojson")
    assert "metres.geojson" in str(exc.value)
    table = lire_fichier(octets, "metres.geojson", crs_declare="EPSG:2154")
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)



def test_degres_dans_un_fichier_declare_en_metres_refuses(tmp_path, communes):
    """Même contrôle que l'import du référentiel (donnees/lecture_vecteur.py) : message qui nomme le fichier."""
    en_degres = [en_4326(carre(700500, 6250500)), en_4326(carre(700600, 6250500))]
    chemin = tmp_path / "degres.gpkg"
    gpd.GeoDataFrame({**{k: [v, v] for k, v in PROPRIETES.items()}, "nom": ["Cour A", "Cour B"]},
                     geometry=en_degres, crs=2154).to_file(chemin, driver="GPKG")
    with pytest.raises(ErreurDonnees) as exc:
        lire_fichier(chemin)
    message = str(exc.value)
    assert message.startswith("degres.gpkg : coordonnées en degrés alors que le système déclaré (EPSG:2154) est "
                              "en mètres.")
    assert "déclarez-le en WGS84 (EPSG:4326)" in message and exc.value.colonne == "crs"

    melange = tmp_path / "melange.gpkg"
    gpd.GeoDataFrame({**{k: [v, v] for k, v in PROPRIETES.items()}, "nom": ["Cour A", "Cour B"]},
                     geometry=[carre(700500, 6250500), en_degres[1]], crs=2154).to_file(melange, driver="GPKG")
    with pytest.raises(ErreurDonnees, match="melange.gpkg : systèmes de coordonnées mélangés, les entités 2 sont "
                                            "en degrés et les autres en mètres"):
        lire_fichier(melange)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_degres_dans_un_shapefile_declare_en_lambert93(tmp_path):
    dossier = tmp_path / "shp"
    dossier.mkdir()
    gpd.GeoDataFrame({"nom": ["Place"]}, geometry=[en_4326(carre(702500, 6250500, 40))]) \
        .to_file(dossier / "zones.shp")
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        for fichier in sorted(dossier.iterdir()):
            archive.write(fichier, fichier.name)
    with pytest.raises(ErreurDonnees, match="zones.zip : coordonnées en degrés alors que le système déclaré "
                                            r"\(EPSG:2154\) est en mètres"):
        lire_fichier(tampon.getvalue(), "zones.zip", crs_declare="EPSG:2154")
    table = lire_fichier(tampon.getvalue(), "zones.zip", crs_declare="EPSG:4326")
    assert len(table) == 1


def test_wkt_en_degres_avec_un_systeme_en_metres_refuse_a_la_ligne(communes):
    table = lire_fichier(csv_octets([LIGNE_BASE]), "ops.csv", crs_declare="EPSG:2154")
    apercu = preparer_import(table, communes=communes)
    (message,) = messages(apercu, "erreur")
    assert message.startswith("ops.csv, ligne 2, champ « géométrie (WKT) » (colonne « wkt ») : coordonnées en "
                              "degrés alors que le système de coordonnées indiqué (EPSG:2154) est en mètres.")
    assert "SRID=4326;" in message

# ------------------------------------------------------------------------------------- GeoPackage


def test_geopackage_premiere_couche_de_polygones_ou_couche_nommee(tmp_path, magasin, communes):
    chemin = tmp_path / "saisie.gpkg"
    gpd.GeoDataFrame({"nom": ["arbre"]}, geometry=[Point(700500, 6250500)], crs=2154) \
        .to_file(chemin, layer="points", driver="GPKG")
    gpd.GeoDataFrame({**{k: [v, v] for k, v in PROPRIETES.items()}, "nom": ["Cour A", "Cour B"]},
                     geometry=[carre(700500, 6250500), carre(700600, 6250500)], crs=2154) \
        .to_file(chemin, layer="operations", driver="GPKG")
    table = lire_fichier(chemin)
    assert table.couche == "operations" and len(table) == 2
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert len(importer(apercu, magasin, AUTEUR).identifiants) == 2

    points = lire_fichier(chemin, couche="points")
    apercu_points = preparer_import(points, {"nom": "nom"}, communes=communes)
    assert any("entité n° 1" in m and "Point" in m for m in messages(apercu_points, "erreur"))
    with pytest.raises(ErreurDonnees, match="couche « absente » absente.*operations"):
        lire_fichier(chemin, couche="absente")


# ------------------------------------------------------------------------------- Shapefile zippé


def _shapefile_zip(tmp_path: Path, avec_prj: bool = True) -> bytes:
    dossier = tmp_path / "shp"
    dossier.mkdir()
    gpd.GeoDataFrame({"nom": ["Place du marché"], "code_insee": ["34023"], "type_site": ["place"],
                      "statut": ["Réalisée"], "date": ["12/05/2021"], "avant": ["béton"],
                      "apres": ["Pleine terre plantée (massifs, arbustes)"]},
                     geometry=[carre(702500, 6250500, 40)], crs=2154).to_file(dossier / "zones.shp",
                                                                              encoding="utf-8")
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED) as archive:
        for fichier in sorted(dossier.iterdir()):
            if fichier.suffix == ".prj" and not avec_prj:
                continue
            archive.write(fichier, f"zones/{fichier.name}")
    return tampon.getvalue()


def test_shapefile_zippe_avec_prj(tmp_path, magasin, communes):
    table = lire_fichier(_shapefile_zip(tmp_path), "zones.zip")
    assert table.format == "shapefile" and "2154" in table.crs_source
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    operation = apercu.operations[0]
    assert operation["statut"] == "realisee" and operation["date_fin_travaux"] == date(2021, 5, 12)
    assert operation["zones"][0]["revetement_avant"] == "beton"
    assert operation["zones"][0]["revetement_apres"] == "massif"
    assert importer(apercu, magasin, AUTEUR).ecrit


def test_shapefile_zippe_sans_prj_demande_le_systeme(tmp_path, communes):
    octets = _shapefile_zip(tmp_path, avec_prj=False)
    with pytest.raises(ErreurDonnees) as exc:
        lire_fichier(octets, "sans_prj.zip")
    message = str(exc.value)
    assert "sans_prj.zip" in message and ".prj" in message and "EPSG:2154" in message
    table = lire_fichier(octets, "sans_prj.zip", crs_declare="EPSG:2154")
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)


# -------------------------------------------------------------------------------------------- KML


def test_kml(tmp_path, magasin, communes):
    coords = " ".join(f"{x},{y},0" for x, y in en_4326(carre(700800, 6250800)).exterior.coords)
    donnees = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in
                      {"code_insee": "34301", "type_site": "Cour d'école", "statut": "en travaux",
                       "revetement_avant": "ENROBÉ BITUMINEUX", "revetement_apres": "noue"}.items())
    texte = ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
             f'<Placemark><name>Cour Victor-Hugo</name><ExtendedData>{donnees}</ExtendedData>'
             f'<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>'
             '</outerBoundaryIs></Polygon></Placemark></Document></kml>')
    chemin = tmp_path / "cour.kml"
    chemin.write_text(texte, encoding="utf-8")
    table = lire_fichier(chemin)
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    operation = apercu.operations[0]
    assert operation["nom"] == "Cour Victor-Hugo" and operation["statut"] == "en_travaux"
    assert operation["type_site"] == "cour_ecole"
    assert operation["zones"][0]["revetement_avant"] == "enrobe"
    assert importer(apercu, magasin, AUTEUR).ecrit


def test_kmz(tmp_path, communes):
    coords = " ".join(f"{x},{y}" for x, y in en_4326(carre(700800, 6250800)).exterior.coords)
    texte = ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
             '<Placemark><name>Place</name><Polygon><outerBoundaryIs><LinearRing>'
             f'<coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>'
             '</Document></kml>')
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doc.kml", texte)
    table = lire_fichier(tampon.getvalue(), "carte.kmz")
    apercu = preparer_import(table, communes=communes, revetements_par_defaut=("enrobe", "pelouse"))
    erreurs = messages(apercu, "erreur")
    assert any("carte.kmz" in m and "« type de site »" in m and "aucune colonne" in m for m in erreurs), erreurs
    assert any("carte.kmz" in m and "« statut »" in m for m in erreurs)
    assert not any("revêtement" in m for m in erreurs)
    assert apercu.lignes_en_erreur == [1] and apercu.apercu["nom"].tolist() == ["Place"]


def test_systeme_de_coordonnees_inconnu():
    with pytest.raises(ErreurDonnees, match="système de coordonnées « EPSG:999999 » inconnu"):
        lire_fichier(csv_octets([LIGNE_BASE]), "ops.csv", crs_declare="EPSG:999999")


def test_csv_wkt_en_lambert93_declare(communes):
    ligne = {**LIGNE_BASE, "wkt": shapely.to_wkt(carre(700500, 6250500, 20))}
    table = lire_fichier(csv_octets([ligne]), "l93.csv", crs_declare="EPSG:2154")
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert apercu.apercu["surface_m2"].iloc[0] == pytest.approx(400, rel=1e-3)
    ewkt = {**LIGNE_BASE, "wkt": "SRID=2154;" + shapely.to_wkt(carre(700500, 6250500, 20))}
    assert preparer_csv([ewkt], communes).nb_erreurs == 0


# -------------------------------------------------------------------------------------------- CSV


def test_csv_wkt_utf8(magasin, communes):
    lignes = [LIGNE_BASE, {**LIGNE_BASE, "nom": "Parking du stade", "type_site": "parking",
                           "wkt": wkt(carre(702500, 6251500)), "code_insee": "34023"}]
    table = lire_fichier(csv_octets(lignes), "ops.csv")
    assert table.separateur == "," and table.encodage == "UTF-8" and table.numeros == [2, 3]
    apercu = preparer_import(table, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    rapport = importer(apercu, magasin, AUTEUR)
    assert rapport.ecrit and rapport.lignes_importees == [2, 3]
    assert magasin.compter()["zone"] == 2


def test_csv_latin1_point_virgule_virgules_decimales_dates_francaises(magasin, communes):
    ligne = {"Nom": "Cour de l'école Pagnol", "Commune": "Sète", "Type": "Cour d'école", "Statut": "Réalisée",
             "Fin des travaux": "15/09/2023", "Coût HT": "12 500,50", "Surface (m²)": "899,5",
             "Financeurs": "Agence de l'eau : 5 000,25 ; Région Occitanie : 2000",
             "Revêtement avant": "Enrobé", "Revêtement après": "Pleine terre enherbée",
             "Géométrie": wkt(carre(700500, 6250500))}
    octets = csv_octets([ligne], separateur=";", encodage="latin-1")
    table = lire_fichier(octets, "export_tableur.csv")
    assert table.separateur == ";" and table.encodage in ("Windows-1252", "Latin-1 (ISO-8859-1)")
    correspondance = proposer_correspondance(table)
    assert correspondance["cout_ht_eur"] == "Coût HT"
    assert correspondance["date_fin_travaux"] == "Fin des travaux"
    assert correspondance["code_insee"] == "Commune"
    apercu = preparer_import(table, correspondance, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    operation = apercu.operations[0]
    assert operation["code_insee"] == "34301"
    assert operation["cout_ht_eur"] == pytest.approx(12500.50)
    assert operation["surface_declaree_m2"] == pytest.approx(899.5)
    assert operation["date_fin_travaux"] == date(2023, 9, 15)
    assert operation["financements"] == [{"financeur": "Agence de l'eau", "montant_eur": 5000.25},
                                         {"financeur": "Région Occitanie", "montant_eur": 2000.0}]
    assert operation["zones"][0]["revetement_apres"] == "pelouse"
    ids = importer(apercu, magasin, AUTEUR).identifiants
    assert magasin.lire_operation(ids[0])["montant_aides_eur"] == pytest.approx(7000.25)


def test_csv_windows_1252_avec_euro():
    octets = csv_octets([{**LIGNE_BASE, "Coût HT (€)": "1 200 €", "nom": "Œuvre"}], ";", "cp1252")
    table = lire_fichier(octets, "excel.csv")
    assert table.encodage == "Windows-1252"
    assert "Coût HT (€)" in table.colonnes and table.donnees.iloc[0]["nom"] == "Œuvre"


def test_csv_utf8_bom_tabulation():
    octets = b"\xef\xbb\xbf" + csv_octets([{**LIGNE_BASE, "nom": "Été"}], separateur="\t")
    table = lire_fichier(octets, "ops.tsv")
    assert table.separateur == "\t" and table.encodage == "UTF-8 (avec BOM)"
    assert table.colonnes[0] == "nom" and table.donnees.iloc[0]["nom"] == "Été"


def test_csv_references_cadastrales(magasin, communes, parcelles):
    lignes = [{**LIGNE_BASE, "wkt": "", "parcelles": "AB 123, AB124"},
              {**LIGNE_BASE, "nom": "Parvis", "wkt": "", "parcelles": "0AC0005"},
              {**LIGNE_BASE, "nom": "Jardin", "wkt": "", "parcelles": "343010000A0007"},
              {**LIGNE_BASE, "nom": "Square", "wkt": "", "parcelles": "A 7"}]
    table = lire_fichier(csv_octets(lignes), "cadastre.csv")
    apercu = preparer_import(table, parcelles=parcelles, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    premiere = apercu.operations[0]
    assert premiere["parcelles"] == ["34301000AB0123", "34301000AB0124"]
    assert premiere["zones"][0]["geometrie"].geom_type == "Polygon"  # union des deux parcelles contiguës
    assert apercu.apercu["surface_m2"].iloc[0] == pytest.approx(3200, rel=1e-3)
    assert apercu.operations[1]["parcelles"] == ["34301000AC0005"]
    assert apercu.operations[2]["parcelles"] == ["343010000A0007"]
    assert apercu.operations[3]["parcelles"] == ["343010000A0007"]
    assert importer(apercu, magasin, AUTEUR).ecrit


def test_cadastre_charge_seulement_si_des_parcelles_sont_citees(communes, parcelles):
    appels = []

    def charger():
        appels.append(1)
        return parcelles

    preparer_csv([LIGNE_BASE], communes, parcelles=charger)
    assert appels == []
    apercu = preparer_csv([{**LIGNE_BASE, "wkt": "", "parcelles": "AB 123"}], communes, parcelles=charger)
    assert appels == [1] and apercu.operations[0]["parcelles"] == ["34301000AB0123"]


def test_csv_reference_cadastrale_inconnue(magasin, communes, parcelles):
    lignes = [{**LIGNE_BASE, "wkt": "", "parcelles": "AB 123"},
              {**LIGNE_BASE, "nom": "Autre", "wkt": "", "parcelles": "AB 999, ZZ12"}]
    apercu = preparer_import(lire_fichier(csv_octets(lignes), "cadastre.csv"), parcelles=parcelles,
                             communes=communes)
    erreurs = messages(apercu, "erreur")
    assert any("ligne 3" in m and "parcelles cadastrales" in m and "AB 999" in m and "ZZ12" in m
               for m in erreurs), erreurs
    assert apercu.lignes_en_erreur == [3] and apercu.lignes_valides == [2]
    verifier_rien_ecrit(apercu, magasin)


def test_csv_references_sans_cadastre_charge(magasin):
    apercu = preparer_csv([{**LIGNE_BASE, "wkt": "", "parcelles": "AB 123"}])
    assert any("ligne 2" in m and "cadastre" in m for m in messages(apercu, "erreur"))
    verifier_rien_ecrit(apercu, magasin)


def test_plusieurs_lignes_meme_cle_une_operation_plusieurs_zones(magasin, communes):
    lignes = [{**LIGNE_BASE, "operation": "OP1", "revetement_apres": "pelouse"},
              {**LIGNE_BASE, "operation": "OP1", "revetement_apres": "paillage", "wkt": wkt(carre(700600, 6250500))},
              {**LIGNE_BASE, "operation": "OP2", "nom": "Autre", "wkt": wkt(carre(700800, 6250500))}]
    apercu = preparer_csv(lignes, communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert [len(o["zones"]) for o in apercu.operations] == [2, 1]
    assert apercu.lignes_operations == [[2, 3], [4]]
    importer(apercu, magasin, AUTEUR)
    assert magasin.compter()["operation"] == 2 and magasin.compter()["zone"] == 3


def test_meme_nom_et_commune_sans_cle_regroupes_et_valeurs_divergentes(communes):
    lignes = [LIGNE_BASE, {**LIGNE_BASE, "cout_ht_eur": "90000", "wkt": wkt(carre(700600, 6250500))}]
    apercu = preparer_csv(lignes, communes)
    assert len(apercu.operations) == 1 and len(apercu.operations[0]["zones"]) == 2
    assert apercu.operations[0]["cout_ht_eur"] == 100000
    assert any("ligne 3" in m and "coût HT" in m and "ligne 2" in m for m in messages(apercu, "avertissement"))


# ------------------------------------------------------------------------------------------- XLSX


def _classeur(octets: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(octets))


def _enregistrer(classeur: openpyxl.Workbook) -> bytes:
    tampon = io.BytesIO()
    classeur.save(tampon)
    return tampon.getvalue()


def test_modele_xlsx_structure():
    classeur = _classeur(generer_modele_xlsx())
    assert classeur.sheetnames == ["opérations", "zones", "aide"]
    entetes = [c.value for c in classeur["opérations"][1]]
    correspondance = proposer_correspondance(entetes)
    assert set(correspondance) == set(imp.ENTETES_OPERATIONS)
    zones = [c.value for c in classeur["zones"][1]]
    assert set(proposer_correspondance(zones, imp.CHAMPS_ZONE)) == set(imp.CHAMPS_ZONE)
    aide = {c.value for ligne in classeur["aide"].iter_rows() for c in ligne if c.value}
    for code in ("enrobe", "pelouse", "toiture_vegetalisee", "cour_ecole", "cimetiere", "realisee",
                 "programmee", "Enrobé bitumineux", "Cour d'école", "Réalisée"):
        assert code in aide


def test_modele_xlsx_rempli(magasin, communes, parcelles):
    classeur = _classeur(generer_modele_xlsx())
    operations, zones = classeur["opérations"], classeur["zones"]
    colonnes = list(imp.ENTETES_OPERATIONS)
    for valeurs in (
        {"cle_operation": "OP1", "code_insee": "34301", "nom": "Cour Jules-Ferry", "type_site": "Cour d'école",
         "statut": "realisee", "date_fin_travaux": datetime(2023, 9, 15), "cout_ht_eur": 120000,
         "financements": "Agence de l'eau : 50000 ; Région : 20000", "arbres_plantes": 4,
         "deconnexion_reseau": "oui"},
        {"cle_operation": "OP2", "code_insee": 34301, "nom": "Parking", "type_site": "parking",
         "statut": "Programmée", "date_fin_travaux": "30/06/2026"},
    ):
        operations.append([valeurs.get(c) for c in colonnes])
    zones.append(["OP1", wkt(carre(700500, 6250500)), None, "enrobe", "pelouse"])
    zones.append(["OP1", wkt(carre(700530, 6250500)), None, "Enrobé bitumineux", "copeaux"])
    zones.append(["OP2", None, "AB 123", "enrobe", "paves_enherbes"])
    table = lire_fichier(_enregistrer(classeur), "modele_rempli.xlsx")
    assert table.zones is not None and table.numeros == [2, 3]
    apercu = preparer_import(table, parcelles=parcelles, communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    op1, op2 = apercu.operations
    assert len(op1["zones"]) == 2 and op1["zones"][1]["revetement_apres"] == "paillage"
    assert op1["date_fin_travaux"] == date(2023, 9, 15) and op1["arbres_plantes"] == 4
    assert op1["deconnexion_reseau"] is True and len(op1["financements"]) == 2
    assert op2["code_insee"] == "34301" and op2["parcelles"] == ["34301000AB0123"]
    assert op2["date_fin_travaux"] == date(2026, 6, 30)
    rapport = importer(apercu, magasin, AUTEUR)
    assert rapport.ecrit and magasin.compter()["zone"] == 3


def test_xlsx_zone_de_cle_inconnue(magasin, communes):
    classeur = _classeur(generer_modele_xlsx())
    colonnes = list(imp.ENTETES_OPERATIONS)
    classeur["opérations"].append([{"cle_operation": "OP1", "code_insee": "34301", "nom": "Cour",
                                    "type_site": "cour_ecole", "statut": "programmee"}.get(c) for c in colonnes])
    classeur["zones"].append(["OP1", wkt(carre(700500, 6250500)), None, "enrobe", "pelouse"])
    classeur["zones"].append(["OP9", wkt(carre(700600, 6250500)), None, "enrobe", "pelouse"])
    apercu = preparer_import(lire_fichier(_enregistrer(classeur), "m.xlsx"), communes=communes)
    assert any("feuille « zones », ligne 3" in m and "OP9" in m for m in messages(apercu, "erreur"))
    verifier_rien_ecrit(apercu, magasin)


def _xlsx(lignes: list[dict]) -> bytes:
    classeur = openpyxl.Workbook()
    feuille = classeur.active
    feuille.title = "opérations"
    colonnes = list(dict.fromkeys(k for l in lignes for k in l))
    feuille.append(colonnes)
    for ligne in lignes:
        feuille.append([ligne.get(c) for c in colonnes])
    return _enregistrer(classeur)


def test_xlsx_colonne_obligatoire_manquante(magasin, communes):
    lignes = [{k: v for k, v in LIGNE_BASE.items() if k != "statut"}] * 2
    apercu = preparer_import(lire_fichier(_xlsx(lignes), "sans_statut.xlsx"), communes=communes)
    erreurs = messages(apercu, "erreur")
    assert any("sans_statut.xlsx" in m and "« statut »" in m and "colonne" in m for m in erreurs), erreurs
    assert apercu.lignes_en_erreur == [2, 3] and apercu.operations == []
    verifier_rien_ecrit(apercu, magasin)


def test_xlsx_colonnes_en_plus_ignorees(magasin, communes):
    lignes = [{**LIGNE_BASE, "Commentaire interne": "à revoir", "Budget N-1": 3}]
    apercu = preparer_import(lire_fichier(_xlsx(lignes), "plus.xlsx"), communes=communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert any("Commentaire interne" in m and "Budget N-1" in m and "ignorée" in m
               for m in messages(apercu, "avertissement"))
    assert importer(apercu, magasin, AUTEUR).ecrit


def test_xlsx_corrompu():
    with pytest.raises(ErreurDonnees, match="classeur Excel illisible"):
        lire_fichier(b"ceci n'est pas un classeur", "faux.xlsx")


# ------------------------------------------------------------------------- erreurs ligne par ligne

CAS_ERREURS = {
    "cout_negatif": ({"cout_ht_eur": "-500"}, "coût HT", "négatif"),
    "aides_superieures_au_cout": ({"financements": "Agence de l'eau : 90000 ; Région : 20000"},
                                  "financements", "dépasse le coût HT"),
    "revetement_inconnu": ({"revetement_avant": "goudron vert"}, "revêtement avant travaux", "goudron vert"),
    "revetement_manquant": ({"revetement_apres": ""}, "revêtement après travaux", "obligatoire"),
    "type_site_inconnu": ({"type_site": "piscine"}, "type de site", "piscine"),
    "statut_inconnu": ({"statut": "abandonné"}, "statut", "abandonné"),
    "date_impossible": ({"date_fin_travaux": "31/02/2023"}, "date de fin des travaux", "31/02/2023"),
    "date_illisible": ({"date_fin_travaux": "l'an dernier"}, "date de fin des travaux", "jj/mm/aaaa"),
    "date_manquante_realisee": ({"date_fin_travaux": ""}, "date de fin des travaux", "réalisée"),
    "nom_manquant": ({"nom": "", "operation": "X1"}, "« nom »", "obligatoire"),
    "commune_hors_territoire": ({"code_insee": "34999"}, "code INSEE", "34999"),
    "auto_intersection": ({"wkt": wkt(Polygon([(700500, 6250500), (700530, 6250530), (700530, 6250500),
                                                (700500, 6250530)]))}, "géométrie", "recoupe"),
    "geometrie_vide": ({"wkt": "POLYGON EMPTY"}, "géométrie", "vide"),
    "point": ({"wkt": wkt(Point(700500, 6250500))}, "géométrie", "Point"),
    "ligne": ({"wkt": wkt(LineString([(700500, 6250500), (700600, 6250600)]))}, "géométrie", "LineString"),
    "wkt_illisible": ({"wkt": "POLYGON((3.6 43.4, oups))"}, "géométrie", "illisible"),
    "wkt_en_metres": ({"wkt": "POLYGON((700500 6250500, 700530 6250500, 700530 6250530, 700500 6250500))"},
                      "géométrie", "Lambert-93"),
    "hors_commune": ({"wkt": wkt(carre(699900, 6250500, 60))}, "géométrie", "hors de la commune 34301"),
    "sans_zone": ({"wkt": ""}, "géométrie", "aucune zone"),
}


@pytest.mark.parametrize("cas", list(CAS_ERREURS))
def test_erreur_nomme_ligne_et_champ_et_rien_n_est_ecrit(cas, magasin, communes):
    modification, champ, extrait = CAS_ERREURS[cas]
    lignes = [{**LIGNE_BASE, "operation": "X0", "wkt": wkt(carre(701500, 6251500))},
              {**LIGNE_BASE, "operation": "X1", **modification}]
    apercu = preparer_csv(lignes, communes, nom="lot.csv")
    erreurs = apercu.erreurs[apercu.erreurs["niveau"] == "erreur"]
    trouves = [m for m in erreurs["message"] if "lot.csv, ligne 3" in m and champ in m and extrait in m]
    assert trouves, erreurs["message"].tolist()
    assert (erreurs["ligne"] == 3).all()
    assert apercu.lignes_en_erreur == [3] and apercu.lignes_valides == [2]
    verifier_rien_ecrit(apercu, magasin)
    rapport = importer(apercu, magasin, AUTEUR, mode="lignes_valides")
    assert rapport.ecrit and rapport.lignes_importees == [2] and rapport.lignes_refusees == [3]
    assert magasin.compter()["operation"] == 1


def test_geometrie_auto_intersectee_corrigee_sur_demande(communes):
    noeud = Polygon([(700500, 6250500), (700530, 6250530), (700530, 6250500), (700500, 6250530)])
    apercu = preparer_csv([{**LIGNE_BASE, "wkt": wkt(noeud)}], communes, corriger_geometries=True)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert any("make_valid" in m and "ligne 2" in m for m in messages(apercu, "avertissement"))
    geometrie = apercu.operations[0]["zones"][0]["geometrie"]
    assert geometrie.is_valid and geometrie.geom_type == "MultiPolygon"


# ------------------------------------------------------------------------------- avertissements


def test_chevauchements_et_surfaces_extremes_sont_des_avertissements(magasin, communes):
    lignes = [{**LIGNE_BASE, "nom": "A", "wkt": wkt(carre(700500, 6250500, 40))},
              {**LIGNE_BASE, "nom": "B", "wkt": wkt(carre(700520, 6250500, 40))},
              {**LIGNE_BASE, "nom": "Minuscule", "wkt": wkt(carre(701500, 6251500, 0.5))},
              {**LIGNE_BASE, "nom": "Immense", "wkt": wkt(box(700100, 6251000, 700500, 6251400))}]
    apercu = preparer_csv(lignes, communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    avertissements = messages(apercu, "avertissement")
    assert any("ligne 3" in m and "chevauche une autre opération du fichier (ligne 2)" in m for m in avertissements)
    assert any("ligne 4" in m and "minuscule" in m for m in avertissements)
    assert any("ligne 5" in m and "16,0\u202fha" in m for m in avertissements)
    assert importer(apercu, magasin, AUTEUR).ecrit  # tout_ou_rien : les avertissements ne bloquent pas

    encore = preparer_csv([{**LIGNE_BASE, "nom": "C", "wkt": wkt(carre(700510, 6250510, 20))}], communes,
                          magasin=magasin)
    assert any("déjà enregistrée" in m and "« A »" in m for m in messages(encore, "avertissement"))


def test_zone_partiellement_hors_commune_et_surface_declaree(communes):
    lignes = [{**LIGNE_BASE, "wkt": wkt(carre(699980, 6250500, 100)), "surface_declaree_m2": "5000"}]
    apercu = preparer_csv(lignes, communes)
    assert apercu.nb_erreurs == 0
    avertissements = messages(apercu, "avertissement")
    attendu = "zone à 20\u202f% hors de la commune 34301. Vérifiez le contour."
    assert any(attendu in m for m in avertissements), avertissements
    assert any("surface déclarée" in m and "10 %" in m for m in avertissements)


def test_commune_deduite_de_la_geometrie_ou_par_defaut(communes):
    sans_code = {k: v for k, v in LIGNE_BASE.items() if k != "code_insee"}
    apercu = preparer_csv([{**sans_code, "wkt": wkt(carre(702500, 6250500))}], communes)
    assert apercu.operations[0]["code_insee"] == "34023"
    assert any("déduite de la géométrie" in m for m in messages(apercu, "avertissement"))
    apercu = preparer_csv([sans_code], None, commune_par_defaut="34301")
    assert apercu.operations[0]["code_insee"] == "34301"
    apercu = preparer_csv([sans_code], None)
    assert any("ligne 2" in m and "code INSEE" in m for m in messages(apercu, "erreur"))


# ---------------------------------------------------------------------------- fichiers refusés


def test_zip_corrompu():
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        archive.writestr("a.shp", b"x" * 1000)
    octets = tampon.getvalue()
    with pytest.raises(ErreurDonnees, match="corrompue"):
        lire_fichier(octets[: len(octets) // 2], "casse.zip")
    abime = bytearray(octets)
    abime[40:60] = b"\x00" * 20  # données abîmées, répertoire central intact
    with pytest.raises(ErreurDonnees, match="corrompue|illisible"):
        lire_fichier(bytes(abime), "abime.zip")


def test_bombe_de_decompression_refusee_avant_extraction(monkeypatch):
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zones.shp", "w", force_zip64=True) as sortie:
            bloc = b"\x00" * (1024 * 1024)
            for _ in range(210):  # 210 Mo de zéros > limite de 200 Mo
                sortie.write(bloc)
    octets = tampon.getvalue()
    assert len(octets) < 1024 * 1024
    extractions = []
    monkeypatch.setattr(lecture, "_extraire_archive", lambda *a: extractions.append(a))
    with pytest.raises(ErreurDonnees, match="bombe de décompression"):
        lire_fichier(octets, "bombe.zip")
    monkeypatch.setattr(archives, "RATIO_MAX_COMPRESSION", 10**9)
    with pytest.raises(ErreurDonnees, match="décompressé ferait 210[ \u202f]Mo"):
        lire_fichier(octets, "bombe.zip")
    assert extractions == []


def test_archive_taille_totale_et_chemins_interdits(monkeypatch):
    def archive(noms: dict[str, bytes]) -> bytes:
        tampon = io.BytesIO()
        with zipfile.ZipFile(tampon, "w") as z:
            for nom, contenu in noms.items():
                z.writestr(nom, contenu)
        return tampon.getvalue()

    monkeypatch.setattr(archives, "TAILLE_MAX_DECOMPRESSEE", 2 * 1024 * 1024)
    with pytest.raises(ErreurDonnees, match="décompressé"):
        lire_fichier(archive({f"f{i}.shp": os.urandom(1024 * 1024) for i in range(3)}), "gros.zip")
    with pytest.raises(ErreurDonnees, match="chemin interdit « ../evil.shp »"):
        lire_fichier(archive({"../evil.shp": b"x"}), "t.zip")
    with pytest.raises(ErreurDonnees, match="chemin interdit"):
        lire_fichier(archive({"/etc/evil.shp": b"x"}), "t.zip")
    with pytest.raises(ErreurDonnees, match="trop imbriqué"):
        lire_fichier(archive({"a/b/c/zones.shp": b"x"}), "t.zip")
    with pytest.raises(ErreurDonnees, match="autres archives"):
        lire_fichier(archive({"interne.zip": b"PK"}), "t.zip")
    with pytest.raises(ErreurDonnees, match="aucun fichier .shp"):
        lire_fichier(archive({"lisezmoi.txt": b"x"}), "t.zip")
    with pytest.raises(ErreurDonnees, match=r"il manque zones\.shx"):
        lire_fichier(archive({"zones.shp": b"x", "zones.dbf": b"x", "zones.prj": b"x"}), "t.zip")


def test_fichier_de_plus_de_50_mo_refuse_sans_etre_lu(tmp_path, monkeypatch):
    chemin = tmp_path / "enorme.geojson"
    with open(chemin, "wb") as f:
        f.truncate(51 * 1024 * 1024)  # fichier creux : rien n'est écrit sur le disque
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("fichier lu malgré sa taille"))
    attendu = ("enorme.geojson : fichier trop volumineux "
               "\\(53\u202f477\u202f376\u202foctets, soit plus que le maximum de 50\u202fMo\\)")
    with pytest.raises(ErreurDonnees, match=attendu):
        lire_fichier(chemin)
    monkeypatch.setattr(lecture, "TAILLE_MAX_FICHIER", 100)
    with pytest.raises(ErreurDonnees, match="trop volumineux"):
        lire_fichier(b"x" * 101, "petit.csv")
    with pytest.raises(ErreurDonnees, match="trop volumineux"):
        lire_fichier(io.BytesIO(b"x" * 101), "flux.csv")


@pytest.mark.parametrize("nom, extrait", [
    ("rapport.docx", "extension « .docx » non prise en charge"),
    ("zones.shp", "s'envoie zippé"),
    ("vieux.xls", ".xlsx"),
    ("sans_extension", "fichier sans extension"),
])
def test_extension_refusee_liste_les_formats(nom, extrait):
    with pytest.raises(ErreurDonnees) as exc:
        lire_fichier(b"contenu", nom)
    message = str(exc.value)
    assert nom in message and extrait in message
    for format_ in ("GeoJSON", "GeoPackage", "Shapefile zippé", "KML", "CSV", ".xlsx"):
        assert format_ in message


def test_fichier_sig_illisible():
    with pytest.raises(ErreurDonnees, match="illisible"):
        lire_fichier(b"{ pas du json", "casse.geojson")


# ------------------------------------------------------------------------ correspondance, valeurs


def test_proposer_correspondance_synonymes():
    colonnes = ["Nom", "INSEE", "Coût HT", "Fin des travaux", "Surface", "Financeurs", "Etat", "Catégorie",
                "WKT", "Réf. cadastrales", "Avant", "Après", "Remarques", "Colonne inutile"]
    assert proposer_correspondance(colonnes) == {
        "code_insee": "INSEE", "nom": "Nom", "type_site": "Catégorie", "statut": "Etat",
        "date_fin_travaux": "Fin des travaux", "cout_ht_eur": "Coût HT", "financements": "Financeurs",
        "surface_declaree_m2": "Surface", "description": "Remarques", "geometrie_wkt": "WKT",
        "parcelles": "Réf. cadastrales", "revetement_avant": "Avant", "revetement_apres": "Après"}
    assert proposer_correspondance(["code_commune", "commune"])["code_insee"] == "code_commune"
    assert proposer_correspondance(["coût", "date"]) == {"cout_ht_eur": "coût", "date_fin_travaux": "date"}


def test_correspondance_choisie_par_l_utilisateur(communes):
    table = lire_fichier(csv_octets([{**LIGNE_BASE, "intitulé du chantier": "Cour B"}]), "ops.csv")
    correspondance = {**proposer_correspondance(table), "nom": "intitulé du chantier"}
    apercu = preparer_import(table, correspondance, communes=communes)
    assert apercu.operations[0]["nom"] == "Cour B"
    with pytest.raises(ErreurDonnees, match="colonne « absente »"):
        preparer_import(table, {"nom": "absente"})
    with pytest.raises(ErreurDonnees, match="champ « couleur » inconnu"):
        preparer_import(table, {"couleur": "nom"})


@pytest.mark.parametrize("valeur, attendu", [
    ("15/09/2023", date(2023, 9, 15)), ("2023-09-15", date(2023, 9, 15)), ("15.09.2023", date(2023, 9, 15)),
    ("2023-09-15T10:00:00", date(2023, 9, 15)), ("2023", date(2023, 12, 31)), ("09/2023", date(2023, 9, 30)),
    ("juin 2024", date(2024, 6, 30)), (datetime(2023, 9, 15, 0, 0), date(2023, 9, 15)),
])
def test_dates(valeur, attendu):
    assert imp._date(valeur)[0] == attendu


@pytest.mark.parametrize("valeur, attendu", [
    ("12 500,50", 12500.5), ("12500.5", 12500.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5),
    ("120 000 €", 120000.0), ("\u202f15\u202f000 m²", 15000.0), (42, 42.0),
])
def test_nombres(valeur, attendu):
    assert imp._nombre(valeur) == pytest.approx(attendu)


def test_financements_texte():
    liste, reste, _ = imp._financements("Agence de l'eau (77 000 €), Département de l'Aude (11 000 €), "
                                        "commune (36 000 €)")
    assert [f["montant_eur"] for f in liste] == [77000, 11000, 36000] and reste is None
    liste, reste, _ = imp._financements("Agence de l'eau (~47 %), Région (15 %), Ville")
    assert liste == [] and reste.startswith("Agence de l'eau")


def test_codes_et_libelles_insensibles_casse_et_accents(communes):
    ligne = {**LIGNE_BASE, "type_site": "CIMETIÈRE", "statut": "programme engagé",
             "revetement_avant": "beton, dalles, paves joints etanches", "revetement_apres": "JARDIN DE PLUIE"}
    apercu = preparer_csv([ligne], communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    operation = apercu.operations[0]
    assert (operation["type_site"], operation["statut"]) == ("cimetiere", "programmee")
    assert (operation["zones"][0]["revetement_avant"], operation["zones"][0]["revetement_apres"]) == ("beton", "noue")


# ---------------------------------------------------------------- magasin, façade et vérificateur


def test_regles_du_magasin_rapportees_a_la_ligne(communes):
    def verifier(operation, contexte):
        if operation["nom"] == "Interdite":
            raise ErreurDonnees(f"{contexte}, champ « code INSEE de la commune » (code_insee) : commune hors de "
                                "vos droits.", "operation", "code_insee")
        return operation

    lignes = [LIGNE_BASE, {**LIGNE_BASE, "nom": "Interdite", "wkt": wkt(carre(700700, 6250700))}]
    apercu = preparer_csv(lignes, communes, magasin=verifier)
    erreurs = apercu.erreurs[apercu.erreurs["niveau"] == "erreur"]
    assert erreurs["ligne"].tolist() == [3] and erreurs["champ"].tolist() == ["code_insee"]
    assert "operations.csv, ligne 3" in erreurs["message"].iloc[0]


class FacadeSansLot:
    """Façade du type MagasinProtege : connaît son utilisateur (pas d'auteur), droits par commune."""

    def __init__(self, magasin: Magasin, communes: set[str], refuser: str | None = None):
        self.magasin, self.communes, self.refuser = magasin, communes, refuser

    def peut(self, action, code_insee=None, operation=None):
        return action == "creer" and code_insee in self.communes

    def creer_operation(self, operation):
        if operation["nom"] == self.refuser:
            raise ErreurDonnees("Opération refusée par la façade.", "operation", "nom")
        return self.magasin.creer_operation(operation, auteur="referent@sete.fr")

    def supprimer_operation(self, operation_id, version_attendue):
        return self.magasin.supprimer_operation(operation_id, version_attendue, "referent@sete.fr")

    def lire_zones(self):
        return self.magasin.lire_zones()


def test_facade_droits_verifies_a_la_preparation_et_a_l_ecriture(communes, magasin):
    lignes = [LIGNE_BASE, {**LIGNE_BASE, "nom": "Balaruc", "code_insee": "34023", "wkt": wkt(carre(702500, 6250500))}]
    facade = FacadeSansLot(magasin, {"34301"})
    apercu = preparer_csv(lignes, communes, magasin=facade)
    erreurs = apercu.erreurs[apercu.erreurs["niveau"] == "erreur"]
    assert erreurs["ligne"].tolist() == [3] and "pas le droit" in erreurs["message"].iloc[0]
    assert "34023" in erreurs["message"].iloc[0]
    verifier_rien_ecrit(apercu, magasin)

    sans_controle = preparer_csv(lignes, communes)  # aperçu préparé sans la façade
    rapport = importer(sans_controle, facade, AUTEUR)
    assert not rapport.ecrit and "34023" in rapport.message and magasin.compter()["operation"] == 0


def test_facade_sans_importer_lot(communes, magasin):
    lignes = [LIGNE_BASE, {**LIGNE_BASE, "nom": "B", "wkt": wkt(carre(700700, 6250700))}]
    apercu = preparer_csv(lignes, communes)
    rapport = importer(apercu, FacadeSansLot(magasin, {"34301"}), AUTEUR)
    assert rapport.ecrit and len(rapport.identifiants) == 2
    assert set(magasin.lire_operations()["cree_par"]) == {"referent@sete.fr"}


def test_facade_sans_lot_tout_ou_rien_annule_si_une_ecriture_echoue(communes, magasin):
    lignes = [LIGNE_BASE, {**LIGNE_BASE, "nom": "B", "wkt": wkt(carre(700700, 6250700))}]
    apercu = preparer_csv(lignes, communes)
    rapport = importer(apercu, FacadeSansLot(magasin, {"34301"}, refuser="B"), AUTEUR)
    assert not rapport.ecrit and "rien n'est resté enregistré" in rapport.message
    assert len(magasin.lire_operations()) == 0  # la première, créée, a été supprimée (journalisé)
    rapport = importer(apercu, FacadeSansLot(magasin, {"34301"}, refuser="B"), AUTEUR, mode="lignes_valides")
    assert rapport.ecrit and len(rapport.identifiants) == 1 and "« B »" in rapport.message



@pytest.mark.parametrize("erreur", [TypeError("peut() takes 2 positional arguments"), RuntimeError("base"),
                                    ErreurDonnees("Compte désactivé.", "droits")])
def test_peut_qui_leve_n_autorise_rien(communes, magasin, erreur):
    """Un peut() qui lève refuse (plus d'ouverture par défaut), à la préparation comme à l'écriture."""

    class FacadeCassee(FacadeSansLot):
        def peut(self, action, code_insee=None, operation=None):
            raise erreur

    facade = FacadeCassee(magasin, {"34301"})
    apercu = preparer_csv([LIGNE_BASE], communes, magasin=facade)
    (message,) = messages(apercu, "erreur")
    assert "ligne 2" in message and "pas le droit de créer une opération dans la commune 34301" in message
    rapport = importer(preparer_csv([LIGNE_BASE], communes), facade, AUTEUR, mode="lignes_valides")
    assert not rapport.ecrit and "pas le droit" in rapport.message and "34301" in rapport.message
    assert magasin.compter()["operation"] == 0


def test_facade_ecrit_sans_auteur_magasin_avec_auteur(communes, magasin):
    """La cible est reconnue à ce qu'elle sait faire (peut : façade), jamais à la signature de ses méthodes."""
    appels = []

    class FacadeAvecLot:
        def peut(self, action, code_insee=None, operation=None):
            return True

        def importer_lot(self, *args, **options):
            appels.append(("facade", args, options))
            return [1]

    class MagasinAvecLot:
        def importer_lot(self, *args, **options):
            appels.append(("magasin", args, options))
            return [2]

    apercu = preparer_csv([LIGNE_BASE], communes)
    assert importer(apercu, FacadeAvecLot(), AUTEUR).identifiants == [1]
    assert importer(apercu, MagasinAvecLot(), AUTEUR, progression=print).identifiants == [2]
    assert [(qui, len(args), args[-1] if qui == "magasin" else None, options) for qui, args, options in appels] \
        == [("facade", 1, None, {}), ("magasin", 2, AUTEUR, {"progression": print})]

def test_magasin_qui_refuse_le_lot(communes, magasin):
    apercu = preparer_csv([LIGNE_BASE], communes)

    class Refus:
        def importer_lot(self, operations, auteur):
            raise PermissionError("Vous ne pouvez pas saisir dans la commune 34301.")

    rapport = importer(apercu, Refus(), AUTEUR)
    assert not rapport.ecrit and "34301" in rapport.message and rapport.lignes_refusees == [2]
    with pytest.raises(ErreurDonnees, match="Mode d'import"):
        importer(apercu, magasin, AUTEUR, mode="au_hasard")


def test_importer_fichier_enchaine_tout(tmp_path, magasin, communes):
    chemin = tmp_path / "ops.csv"
    chemin.write_bytes(csv_octets([LIGNE_BASE]))
    apercu, rapport = imp.importer_fichier(chemin, magasin, AUTEUR, communes=communes)
    assert rapport.ecrit and rapport.nb_operations == 1
    assert "1 opération(s) lue(s), 1 valide(s)" in apercu.resume()


def test_operations_sans_geometrie_au_centroide(magasin, communes):
    lignes = [{"commune": "34301", "site": "École A", "type": "cour_ecole", "annee": "2022", "statut": "réalisé",
               "surface": "", "financeurs": "Ville"},
              {"commune": "34301", "site": "École B", "type": "cour_ecole", "annee": "2021", "statut": "réalisé",
               "surface": "500", "financeurs": ""}]
    sans_option = preparer_csv(lignes, communes)
    assert any("aucune zone" in m for m in messages(sans_option, "erreur"))
    apercu = preparer_csv(lignes, communes, localiser_au_centroide=True)
    assert apercu.nb_erreurs == 0, messages(apercu)
    a, b = apercu.operations
    assert a["localisation_approximative"] and a["surface_declaree_m2"] is None
    assert b["surface_declaree_m2"] == 500
    assert a["zones"][0]["revetement_avant"] == a["zones"][0]["revetement_apres"]
    assert a["zones"][0]["geometrie"].distance(b["zones"][0]["geometrie"]) > 0  # emplacements décalés
    assert "Financeurs : Ville" in a["description"]
    ids = importer(apercu, magasin, AUTEUR).identifiants
    relue = magasin.lire_operation(ids[0])
    assert relue["localisation_approximative"] and relue["surface_declaree_m2"] is None
    assert en_4326(COMMUNE_A).contains(relue["zones"][0]["geometrie"])


# --------------------------------------------------------------------------- données partagées


def _donnees_partagees(nom: str) -> Path:
    return chemin_partage("data", nom)


FICHIER_OPERATIONS_REELLES = "operations-desimpermeabilisation-exemples.csv"


def _communes_partagees() -> gpd.GeoDataFrame:
    """Les 25 communes réelles du bassin (fichier partagé), comme la couche « communes » du territoire."""
    communes = gpd.read_file(_donnees_partagees("communes-bassin-thau.geojson"))
    return communes[["code_insee", "nom", "geometry"]]


def _communes_du_fichier(brut: pd.DataFrame) -> gpd.GeoDataFrame:
    """Territoire fictif contenant toutes les communes citées par le fichier (pour tester chaque ligne)."""
    codes = sorted(set(brut["code_insee"]))
    return gpd.GeoDataFrame({"code_insee": codes, "nom": codes},
                            geometry=[carre(700000 + 3000 * i, 6250000, 2000) for i in range(len(codes))],
                            crs="EPSG:2154").to_crs("EPSG:4326")


def _erreurs_par_ligne(apercu: ApercuImport) -> dict[int, list[str]]:
    erreurs = apercu.erreurs[apercu.erreurs["niveau"] == "erreur"]
    resultat: dict[int, list[str]] = {}
    for ligne, message in zip(erreurs["ligne"], erreurs["message"]):
        resultat.setdefault(int(ligne), []).append(message)
    return resultat


def test_donnees_partagees_correspondance_automatique():
    table = lire_fichier(_donnees_partagees(FICHIER_OPERATIONS_REELLES))
    assert proposer_correspondance(table) == {
        "cle_operation": "id", "code_insee": "code_insee", "nom": "site", "type_site": "type_site",
        "statut": "statut", "annee": "annee", "cout_ht_eur": "cout_eur", "financements": "financeurs",
        "surface_declaree_m2": "surface_desimper_m2", "description": "remarque", "source": "source_url",
        "type_source": "type_source", "precision_surface": "precision_surface", "precision_cout": "precision_cout"}


def test_donnees_partagees_operations_reelles_sur_le_territoire_reel(magasin):
    """Chaque ligne du fichier partagé est importée ou refusée avec un message qui dit pourquoi."""
    chemin = _donnees_partagees(FICHIER_OPERATIONS_REELLES)
    brut = pd.read_csv(chemin, dtype=str, keep_default_na=False)
    communes = _communes_partagees()
    table = lire_fichier(chemin)
    apercu = preparer_import(table, proposer_correspondance(table), communes=communes,
                             localiser_au_centroide=True, magasin=magasin)
    numero = {op: rang + 2 for rang, op in enumerate(brut["id"])}  # ligne 1 : en-têtes
    erreurs = _erreurs_par_ligne(apercu)
    hors = [numero[o] for o in brut.loc[~brut["code_insee"].isin(communes["code_insee"]), "id"]]
    assert len(hors) == 7 and all(brut.loc[brut["code_insee"].isin(communes["code_insee"]),
                                           "dans_perimetre_smbt"] == "oui")
    for ligne in hors:
        assert any("hors du territoire" in m and f"ligne {ligne}," in m for m in erreurs[ligne])
    for op in ("OP05", "OP06", "OP07"):  # études : pas des opérations
        assert any("champ « statut »" in m and "étude" in m and "n'est pas importée" in m
                   for m in erreurs[numero[op]])
    assert any("date de fin des travaux" in m and "jamais inventée" in m for m in erreurs[numero["OP03"]])
    assert sorted(erreurs) == sorted(hors + [numero[o] for o in ("OP03", "OP05", "OP06", "OP07")])
    assert apercu.lignes_valides == [numero[o] for o in ("OP01", "OP02", "OP04")]

    assert not importer(apercu, magasin, AUTEUR).ecrit  # tout ou rien : rien d'écrit
    assert len(magasin.lire_operations()) == 0
    rapport = importer(apercu, magasin, AUTEUR, mode="lignes_valides")
    assert rapport.ecrit and rapport.nb_operations == 3
    operations = magasin.lire_operations().set_index("nom")
    assert operations["localisation_approximative"].all()
    assert operations["surface_declaree_m2"].isna().all()  # aucune surface dans ces lignes : aucune inventée
    assert set(operations["validation"]) == {"a_valider"}
    sete = operations.loc[brut.set_index("id").loc["OP01", "site"]]
    assert (sete["code_insee"], sete["type_site"], sete["statut"]) == ("34301", "cour_ecole", "programmee")
    assert pd.isna(sete["date_fin_travaux"])  # 2021 : année d'engagement, pas une fin de travaux prévue
    assert "Année indiquée : 2021" in sete["description"] and "Coût : par école" in sete["description"]
    assert "Financeurs : Agence de l'eau RMC" in sete["description"]
    assert sete["source"] == ("https://plusfraichemaville.fr/projet/desimpermeabilisation-vegetalisation-cours-"
                              "ecoles-sete (plateforme ADEME Plus fraîche ma ville)")
    anatole = operations.loc[brut.set_index("id").loc["OP02", "site"]]
    assert anatole["statut"] == "realisee" and anatole["date_fin_travaux"] == pd.Timestamp("2024-12-31")
    assert anatole["cout_ht_eur"] == 6_750_000
    assert len(magasin.lire_financements()) == 0  # financeurs sans montant : gardés dans la description
    # Zone : un carré de 10 m dans la commune, revêtement inchangé.
    zones = magasin.lire_zones()
    assert (zones["revetement_avant"] == zones["revetement_apres"]).all()
    assert zones["surface_m2"].between(90, 110).all()
    contours = communes.set_index("code_insee").geometry
    assert all(contours[c].contains(g) for c, g in zip(zones["code_insee"], zones.geometry))

    # Réimport : rien n'est dupliqué, chaque ligne déjà importée est signalée.
    apercu = preparer_import(lire_fichier(chemin), None, communes=communes, localiser_au_centroide=True,
                             magasin=magasin)
    assert apercu.operations == []
    erreurs = _erreurs_par_ligne(apercu)
    for op in ("OP01", "OP02", "OP04"):
        assert any("déjà enregistrée" in m for m in erreurs[numero[op]])
    rapport = importer(apercu, magasin, AUTEUR, mode="lignes_valides")
    assert not rapport.ecrit and len(magasin.lire_operations()) == 3


def test_donnees_partagees_toutes_les_lignes_si_le_territoire_les_contient(magasin):
    """Territoire qui contient toutes les communes : surfaces gardées telles quelles, jamais inventées."""
    chemin = _donnees_partagees(FICHIER_OPERATIONS_REELLES)
    brut = pd.read_csv(chemin, dtype=str, keep_default_na=False)
    table = lire_fichier(chemin)
    apercu = preparer_import(table, proposer_correspondance(table), communes=_communes_du_fichier(brut),
                             localiser_au_centroide=True)
    etudes = brut.index[brut["statut"] == "étude"]
    sans_date = brut.index[(brut["statut"] == "réalisé") & (brut["annee"] == "")]
    assert apercu.lignes_en_erreur == sorted(i + 2 for i in [*etudes, *sans_date])
    rapport = importer(apercu, magasin, AUTEUR, mode="lignes_valides")
    assert rapport.ecrit and rapport.nb_operations == len(brut) - len(etudes) - len(sans_date) == 8
    operations = magasin.lire_operations().set_index("nom")
    assert operations["localisation_approximative"].all()
    for _, ligne in brut.iterrows():
        if ligne["site"] not in operations.index:
            continue
        declaree = operations.loc[ligne["site"], "surface_declaree_m2"]
        if ligne["surface_desimper_m2"]:
            assert declaree == pytest.approx(float(ligne["surface_desimper_m2"]))
            assert f"Surface : {ligne['precision_surface']}" in operations.loc[ligne["site"], "description"]
        else:
            assert pd.isna(declaree)
    assert sorted(magasin.lire_financements()["montant_eur"]) == [11000, 36000, 77000]  # Bize-Minervois
    moussan = apercu.erreurs[apercu.erreurs["ligne"] == 15]["message"].tolist()
    assert any("TTC" in m and "sans conversion" in m for m in moussan)

    # Indicateurs : l'emplacement au centre de la commune ne compte pour rien (surfaces inconnues : NaN) ; la
    # surface déclarée reste affichée comme telle.
    from indicateurs.calcul import calculer_indicateurs_operations

    indicateurs = calculer_indicateurs_operations(magasin.lire_operations(), magasin.lire_zones(),
                                                  magasin.lire_financements()).set_index("nom")
    for colonne in ("surface_zones", "surface_desimpermeabilisee", "surface_active_deconnectee",
                    "volume_infiltre", "volume_abattu_pluie_reference"):
        assert indicateurs[colonne].isna().all(), colonne
    assert not indicateurs["ecart_surface_signale"].any()
    assert indicateurs.loc["École André-Boulloche", "surface_declaree"] == 500
    assert indicateurs["cout_par_m2"].isna().all()


def test_donnees_partagees_cadastre_reel(magasin):
    chemin = _donnees_partagees("cadastre-34202-parcelles-echantillon.json")
    cadastre = gpd.read_file(chemin)
    parcelles = cadastre[["id", "commune", "prefixe", "section", "numero", "contenance", "geometry"]]
    premiere = parcelles.iloc[0]
    reference = f"{premiere['section']} {premiere['numero']}"
    lignes = [{"nom": "Cour test", "code_insee": "34202", "type_site": "cour_ecole", "statut": "programmee",
               "parcelles": reference, "revetement_avant": "enrobe", "revetement_apres": "pelouse"}]
    table = lire_fichier(csv_octets(lignes), "cadastre_reel.csv")
    apercu = preparer_import(table, parcelles=parcelles)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert apercu.operations[0]["parcelles"] == [premiere["id"]]
    ids = importer(apercu, magasin, AUTEUR).identifiants
    surface = magasin.lire_zones()["surface_m2"].iloc[0]
    assert surface == pytest.approx(premiere["contenance"], rel=0.15)
    assert len(ids) == 1


def test_donnees_partagees_par_la_commande(dossier_demo_copie, monkeypatch, capsys):
    """`desimper operations importer … --localiser-au-centroide --mode lignes_valides` sur le territoire
    de démonstration (25 communes réelles) ; un second passage n'ajoute rien ; les modèles sur grille
    ne gravent pas les emplacements approximatifs."""
    import cli
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from services import modeles

    chemin = _donnees_partagees(FICHIER_OPERATIONS_REELLES)
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    base = Magasin(url_base(dossier_demo_copie))
    creer_compte(base, "admin@exemple.fr", "Admin", "administrateur", None, "une phrase de passe solide",
                 auteur="test")
    avant = base.lire_operations()
    commande = ["operations", "importer", str(chemin), "--utilisateur", "admin@exemple.fr",
                "--localiser-au-centroide", "--mode", "lignes_valides", "--dossier", str(dossier_demo_copie)]
    assert cli.main(commande) == 0
    sortie = capsys.readouterr().out
    assert "14 opération(s) lue(s), 3 valide(s)" in sortie and "3 opération(s) importée(s)" in sortie
    nouvelles = base.lire_operations().query("id not in @avant.id")
    assert len(nouvelles) == 3 and nouvelles["localisation_approximative"].all()
    assert cli.main(commande) == 1  # même fichier : rien de nouveau
    assert "déjà enregistrée" in capsys.readouterr().out
    assert len(base.lire_operations()) == len(avant) + 3

    vues: list = []
    # zones remises au modèle de l'eau (calcul complet ou comptes de la mise à jour incrémentale)
    monkeypatch.setattr(modeles, "calculer_eau_modeles",
                        lambda occupation, zones, parametres, chaleur: vues.append(zones) or pd.DataFrame())
    modeles.calculer_modeles_territoire(dossier_demo_copie, cache_disque=False)
    assert len(vues) == 1 and not set(vues[0]["operation_id"]) & set(nouvelles["id"])
    validees = base.lire_zones().query("validation == 'validee'")  # seules les validées entrent dans les modèles
    assert len(vues[0]) == len(validees.query("operation_id not in @nouvelles.id"))
    base.fermer()


@pytest.mark.parametrize("valeur, attendu", [
    ("réalisé", "realisee"), ("Réalisée", "realisee"), ("travaux terminés", "realisee"),
    ("programme engagé", "programmee"), ("engagement (lauréat TEN 2021)", "programmee"),
    ("prévu", "programmee"), ("en travaux", "en_travaux"), ("en cours", "en_travaux"),
    ("chantier démarré", "en_travaux"),
])
def test_statuts_en_texte_libre(valeur, attendu, communes):
    apercu = preparer_csv([{**LIGNE_BASE, "statut": valeur}], communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    assert apercu.operations[0]["statut"] == attendu


@pytest.mark.parametrize("valeur", ["étude", "Études préalables", "diagnostic", "défi étudiant"])
def test_etudes_refusees_avec_explication(valeur, communes):
    apercu = preparer_csv([{**LIGNE_BASE, "statut": valeur}], communes)
    (message,) = messages(apercu, "erreur")
    assert "ligne 2, champ « statut »" in message and "n'est pas une opération" in message
    assert "n'est pas importée" in message


def test_table_des_correspondances_coherente_avec_les_nomenclatures():
    from donnees import nomenclatures

    table = pd.read_csv(imp.FICHIER_CORRESPONDANCES, dtype=str, keep_default_na=False)
    assert set(table["champ"]) == {"statut", "type_site"}
    assert not table.duplicated(["champ", "expression"]).any()
    codes = {"statut": set(nomenclatures.STATUTS), "type_site": set(nomenclatures.lire_types_site())}
    for ligne in table.itertuples():
        if ligne.code:
            assert ligne.code in codes[ligne.champ], ligne
            assert ligne.approximatif in ("oui", "non"), ligne
        else:
            assert ligne.explication, ligne  # valeur refusée : l'explication est montrée à l'utilisateur
        assert imp._normaliser(ligne.expression) == ligne.expression, ligne


def test_annee_seule_selon_le_statut(communes):
    futur = date.today().year + 2
    lignes = [{**LIGNE_BASE, "nom": "Réalisée", "date_fin_travaux": "", "annee": "2021"},
              {**LIGNE_BASE, "nom": "Programmée passée", "statut": "programmee", "date_fin_travaux": "",
               "annee": "2021"},
              {**LIGNE_BASE, "nom": "Programmée future", "statut": "programmee", "date_fin_travaux": "",
               "annee": str(futur)},
              {**LIGNE_BASE, "nom": "Date complète", "statut": "programmee", "date_fin_travaux": "",
               "annee": "15/06/2021"}]
    apercu = preparer_csv(lignes, communes)
    assert apercu.nb_erreurs == 0, messages(apercu)
    realisee, passee, future, complete = apercu.operations
    assert realisee["date_fin_travaux"] == date(2021, 12, 31)
    assert passee["date_fin_travaux"] is None and "Année indiquée : 2021" in passee["description"]
    assert future["date_fin_travaux"] == date(futur, 12, 31)
    assert complete["date_fin_travaux"] == date(2021, 6, 15)
    assert any("ligne 3, champ « année »" in m and "pas une date de fin prévue" in m
               for m in messages(apercu, "avertissement"))


def test_precisions_et_nature_de_la_source_dans_la_fiche(communes):
    ligne = {**LIGNE_BASE, "remarque": "Cour oasis.", "precision_surface": "surface citée par la presse",
             "precision_cout": "TTC", "source_url": "https://exemple.fr/article", "type_source": "presse locale"}
    apercu = preparer_csv([ligne], communes)
    operation = apercu.operations[0]
    assert operation["description"] == "Cour oasis.\nSurface : surface citée par la presse\nCoût : TTC"
    assert operation["source"] == "https://exemple.fr/article (presse locale)"
    assert operation["cout_ht_eur"] == 100000
    assert any("champ « précision sur le coût »" in m and "TTC" in m for m in messages(apercu, "avertissement"))


def test_indicateurs_ignorent_les_emplacements_approximatifs(magasin, communes):
    """Une opération dessinée compte ; une opération placée au centre de sa commune ne compte pour rien,
    même avec une surface déclarée (surface déclarée affichée, jamais convertie en m² désimperméabilisés)."""
    from indicateurs.calcul import calculer_indicateurs_communes, calculer_indicateurs_operations
    from indicateurs.communs import ecarter_zones_approximatives

    lignes = [{**LIGNE_BASE, "nom": "Dessinée"},
              {"code_insee": "34301", "nom": "Sans contour", "type_site": "parking", "statut": "realisee",
               "annee": "2022", "surface": "800"}]
    apercu = preparer_csv(lignes, communes, localiser_au_centroide=True)
    assert apercu.nb_erreurs == 0, messages(apercu)
    importer(apercu, magasin, AUTEUR)
    operations, zones = magasin.lire_operations(), magasin.lire_zones()
    assert len(ecarter_zones_approximatives(zones, operations)) == 1
    assert len(ecarter_zones_approximatives(zones, operations.drop(columns="localisation_approximative"))) == 2
    table = calculer_indicateurs_operations(operations, zones, magasin.lire_financements()).set_index("nom")
    assert table.loc["Dessinée", "surface_desimpermeabilisee"] == pytest.approx(900, rel=0.01)
    assert table.loc["Sans contour", ["surface_zones", "surface_desimpermeabilisee", "volume_infiltre"]].isna().all()
    assert table.loc["Sans contour", "surface_declaree"] == 800
    assert not table.loc["Sans contour", "ecart_surface_signale"]
    bassin = calculer_indicateurs_communes(operations, zones, magasin.lire_financements(),
                                           communes).set_index("territoire").loc["bassin"]
    assert bassin["surface_zones"] == pytest.approx(900, rel=0.01)
    assert bassin["surface_desimpermeabilisee"] == pytest.approx(900, rel=0.01)
    assert bassin["nombre_operations"] == 2
