"""Schémas du référentiel : tables correctes acceptées, tables fautives refusées avec un message utile."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Polygon, box

from donnees.referentiel import ecrire_couche, lire_couche, lire_territoire
from donnees.erreurs import ErreurDonnees
from donnees.schemas import valider_couche


def communes_valides() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code_insee": ["34301", "34157"], "nom": ["Sète", "Mèze"], "population": [45337, 12669],
         "source_geometrie": ["test", "test"]},
        geometry=[box(3.6, 43.3, 3.7, 43.4), box(3.5, 43.4, 3.6, 43.5)], crs=4326)


def parcelles_valides() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["34301000AB0123", "34301000AB0124"], "commune": ["34301", "34301"],
         "prefixe": ["000", "000"], "section": ["AB", "AB"], "numero": ["123", "124"],
         "contenance": [440, 612]},
        geometry=[box(3.60, 43.30, 3.601, 43.301), box(3.601, 43.30, 3.602, 43.301)], crs=4326)


def occupation_valide() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["1", "2"], "code_insee": ["34301", "34301"], "code_cs": ["CS1.1.1.1", "CS2.2.1"],
         "code_us": [None, "US1.1"]},
        geometry=[box(3.60, 43.30, 3.601, 43.301), box(3.601, 43.30, 3.602, 43.301)], crs=4326)


def test_couches_valides_acceptees():
    assert len(valider_couche("communes", communes_valides())) == 2
    assert len(valider_couche("parcelles", parcelles_valides())) == 2
    assert len(valider_couche("occupation", occupation_valide())) == 2
    objectifs = pd.DataFrame({"territoire": ["bassin", "34301"], "annee": [2026, 2026],
                              "surface_m2": [60000.0, 9000.0]})
    assert len(valider_couche("objectifs", objectifs)) == 2
    nouvelles = pd.DataFrame({"code_insee": ["34301"], "annee": [2024], "surface_m2": [3500],
                              "source": ["déclaration"]})
    assert valider_couche("nouvelles_surfaces", nouvelles)["surface_m2"].dtype == "float64"


@pytest.mark.parametrize("alteration, colonne, extrait", [
    (lambda t: t.drop(columns="population"), "population", "manquante"),
    (lambda t: t.assign(code_insee=["34301", "3430"]), "code_insee", "lignes 1"),
    (lambda t: t.assign(code_insee=["34301", "34301"]), "code_insee", "double"),
    (lambda t: t.assign(population=[-1, 5]), "population", "lignes 0"),
    (lambda t: t.set_geometry([box(0, 0, 1, 1), Polygon()], crs=4326), "geometry", "vides"),
    (lambda t: t.set_geometry([box(0, 0, 1, 1), LineString([(0, 0), (1, 1)])], crs=4326), "geometry",
     "type"),
    (lambda t: t.set_geometry([box(0, 0, 1, 1), Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], crs=4326),
     "geometry", "invalides"),
    (lambda t: t.to_crs(2154), "geometry", "EPSG:4326"),
    (lambda t: t.set_crs(None, allow_override=True), "geometry", "système de coordonnées"),
])
def test_communes_fautives_refusees(alteration, colonne, extrait):
    with pytest.raises(ErreurDonnees) as erreur:
        valider_couche("communes", alteration(communes_valides()))
    assert erreur.value.couche == "communes"
    assert erreur.value.colonne == colonne
    message = str(erreur.value)
    assert "communes" in message and colonne in message and extrait in message


def test_parcelle_id_mal_forme_refuse_avec_ligne():
    table = parcelles_valides()
    table.loc[1, "id"] = "34301-AB-124"
    with pytest.raises(ErreurDonnees, match=r"colonne « id ».*lignes 1"):
        valider_couche("parcelles", table)


def test_occupation_code_cs_invalide_refuse():
    table = occupation_valide()
    table.loc[0, "code_cs"] = "bati"
    with pytest.raises(ErreurDonnees, match="code_cs"):
        valider_couche("occupation", table)


def test_couche_vide_refusee():
    with pytest.raises(ErreurDonnees, match="vide"):
        valider_couche("communes", communes_valides().iloc[0:0])


def test_ecriture_puis_lecture_geoparquet(tmp_path):
    chemin = ecrire_couche("communes", communes_valides(), tmp_path)
    assert chemin.name == "communes.parquet"
    relue = lire_couche("communes", tmp_path)
    assert list(relue["code_insee"]) == ["34301", "34157"]
    assert relue.crs.equals(4326)


def test_ecriture_fautive_garde_l_ancienne_couche(tmp_path):
    ecrire_couche("communes", communes_valides(), tmp_path)
    with pytest.raises(ErreurDonnees):
        ecrire_couche("communes", communes_valides().assign(population=[-1, -1]), tmp_path)
    assert len(lire_couche("communes", tmp_path)) == 2
    assert [f.name for f in tmp_path.iterdir()] == ["communes.parquet"]


def test_couche_absente_ou_corrompue_message_francais(tmp_path):
    with pytest.raises(ErreurDonnees, match="desimper demo"):
        lire_couche("parcelles", tmp_path)
    (tmp_path / "parcelles.parquet").write_bytes(b"pas du parquet")
    with pytest.raises(ErreurDonnees, match="illisible"):
        lire_couche("parcelles", tmp_path)


def test_territoire_absent_ou_incomplet(tmp_path):
    with pytest.raises(ErreurDonnees, match="desimper demo"):
        lire_territoire(tmp_path)
    (tmp_path / "territoire.json").write_text('{"nom": "X"}', encoding="utf-8")
    with pytest.raises(ErreurDonnees, match="codes_insee"):
        lire_territoire(tmp_path)


def test_lecture_de_quelques_colonnes(tmp_path):
    ecrire_couche("communes", communes_valides(), tmp_path)
    assert list(lire_couche("communes", tmp_path, colonnes=["code_insee"]).columns) == ["code_insee"]
    assert (tmp_path / "communes.parquet").stat().st_mode & 0o777 == 0o644
