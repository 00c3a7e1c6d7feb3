"""Modèle d'eau sur grille (InVEST Urban Stormwater Retention) : formules, table de percolation, tables par
commune, comparaison avec InVEST 3.20.2 sur shared/reference/invest-cas-ville/, cohérence des scénarios."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from donnees.erreurs import ErreurDonnees
from indicateurs import eau_grille as eau
from indicateurs import grille as gr
from outils import DOSSIER_PARTAGE, chemin_partage

REFERENCE = DOSSIER_PARTAGE / "reference" / "invest-cas-ville"


def _reference() -> Path:
    return chemin_partage("reference", "invest-cas-ville")


def test_formules_a_la_main():
    assert eau.calculer_ratio_retention(0.9) == pytest.approx(0.1)
    # 0,001 m/mm × 600 mm/an × 0,1 × 100 m² = 6 m³/an
    assert eau.calculer_volume_eau(0.1, 600, 100) == pytest.approx(6.0)


def test_modele_par_cellule_et_par_zone_a_la_main():
    rc = np.array([[0.9, 0.15], [0.0, np.nan]])
    pe = np.array([[0.0, 0.06], [0.0, np.nan]])
    copies = rc.copy(), pe.copy()
    res = eau.modeliser_eau(rc, pe, 600.0, 100.0)
    np.testing.assert_allclose(res.volume_retention[0], [6.0, 51.0], rtol=1e-6)
    np.testing.assert_allclose(res.volume_ruissellement[0], [54.0, 9.0], rtol=1e-6)
    np.testing.assert_allclose(res.volume_percolation[0], [0.0, 3.6], rtol=1e-6)
    assert np.isnan(res.volume_retention[1, 1])
    table = eau.agreger_eau_zones(res, np.array([[0, 0], [1, 1]]), 2)
    assert list(table.columns) == list(eau.COLONNES_INVEST)
    assert table["total_retention_volume"].tolist() == pytest.approx([57.0, 60.0])
    assert table["mean_retention_ratio"].tolist() == pytest.approx([0.475, 1.0])
    np.testing.assert_array_equal(rc, copies[0])
    np.testing.assert_array_equal(pe, copies[1])


def test_table_percolation_complete_et_bornee():
    pe = eau.lire_percolation()
    revetements = gr.lister_codes_revetement()
    assert set(pe.index) == set(revetements)
    table = eau.tabuler_ratios_eau()
    assert np.isnan(table["percolation"][0]) and (table["percolation"][1:] <= 1 - table["ruissellement"][1:]).all()


def test_table_percolation_fautive(tmp_path):
    chemin = tmp_path / "percolation.csv"
    table = pd.read_csv(eau.FICHIER_PERCOLATION)
    table.loc[table["code"] == "enrobe", "pe"] = 0.5  # plus que 1 − C = 0,1
    table.to_csv(chemin, index=False)
    with pytest.raises(ErreurDonnees, match="percolation.csv.*enrobe"):
        eau.lire_percolation(chemin)


def test_table_par_commune_a_la_main():
    grille = gr.Grille(0.0, 20.0, 10.0, 2, 2)
    enrobe, pelouse = gr.indexer_revetements(["enrobe", "pelouse"])
    revetement = np.array([[enrobe, enrobe], [pelouse, 0]], np.uint8)
    occ = gr.OccupationGrille(grille, revetement, revetement == enrobe, np.array([[1, 1], [2, 0]], np.int16),
                              ("34001", "34002"))
    zones = pd.DataFrame(columns=["revetement_avant", "revetement_apres", "statut"])
    import geopandas as gpd
    zones = gpd.GeoDataFrame(zones, geometry=[], crs="EPSG:2154")
    table = eau.calculer_eau_territoire(occ, zones, scenarios=("sans_operations",))
    ligne = table.set_index("code_insee").loc["34001"]
    # 2 cellules d'enrobé (C annuel 0,87, InVEST) : 0,001 × 600 × (1 − 0,87) × 100 × 2 = 15,6 m³/an retenus,
    # 104,4 ruisselés
    assert ligne["volume_retention_m3_an"] == pytest.approx(15.6)
    assert ligne["volume_ruissellement_m3_an"] == pytest.approx(104.4)
    assert table.set_index("code_insee").loc["34002", "volume_percolation_m3_an"] == pytest.approx(3.6)


@pytest.mark.parametrize("scenario", ["avant", "apres"])
def test_comme_invest(tmp_path, scenario):
    from services.modeles import executer_eau_invest

    dossier = _reference()
    entrees = dossier / "entrees"
    res = executer_eau_invest(entrees / f"occupation_{scenario}.tif", entrees / "classes.csv",
                              entrees / "groupe_sol.tif", entrees / "pluie_mm_an.tif", entrees / "zones.geojson",
                              tmp_path)
    ref = pd.read_csv(dossier / "sorties_invest" / f"eau_{scenario}_zones.csv")
    calcul = pd.read_csv(res["fichiers"]["zones"]).merge(ref, on="zone", suffixes=("", "_invest"))
    assert len(calcul) == 3
    for colonne in ("total_retention_volume", "total_runoff_volume", "total_percolation_volume"):
        ecart = ((calcul[colonne] - calcul[f"{colonne}_invest"]) / calcul[f"{colonne}_invest"]).abs()
        assert ecart.max() <= 0.005, colonne
    for nom in ("retention_volume", "runoff_volume", "percolation_volume"):
        with rasterio.open(dossier / "sorties_invest" / f"eau_{scenario}_{nom}.tif") as source:
            invest = source.read(1)
        with rasterio.open(res["fichiers"][nom]) as source:
            assert np.mean(np.abs(source.read(1) - invest) <= 0.01) >= 0.99


def test_erreurs_fichiers_eau(tmp_path):
    from donnees.rasters import lire_table_biophysique
    from services.modeles import executer_eau_invest

    entrees = _reference() / "entrees"
    pd.read_csv(entrees / "classes.csv").drop(columns="rc").to_csv(tmp_path / "sans_rc.csv", index=False)
    with pytest.raises(ErreurDonnees, match="sans_rc.csv.*rc_a"):
        lire_table_biophysique(tmp_path / "sans_rc.csv", "eau")
    with pytest.raises(ErreurDonnees, match="absent.tif"):
        executer_eau_invest(entrees / "occupation_avant.tif", entrees / "classes.csv", tmp_path / "absent.tif",
                            entrees / "pluie_mm_an.tif", entrees / "zones.geojson", tmp_path)


def test_cli_eau_mode_invest(tmp_path, capsys):
    from cli import main

    entrees = _reference() / "entrees"
    code = main(["eau", "--occupation", str(entrees / "occupation_avant.tif"), "--biophysique",
                 str(entrees / "classes.csv"), "--groupe-sol", str(entrees / "groupe_sol.tif"), "--pluie",
                 str(entrees / "pluie_mm_an.tif"), "--zones", str(entrees / "zones.geojson"), "--sortie",
                 str(tmp_path)])
    assert code == 0
    assert {"retention_volume.tif", "runoff_volume.tif", "percolation_volume.tif", "eau_zones.csv"} <= {
        f.name for f in tmp_path.iterdir()}
    assert "ouest" in capsys.readouterr().out


@pytest.fixture(scope="module")
def demo_20m(dossier_demo, tmp_path_factory):
    from donnees.referentiel import ecrire_territoire, lire_territoire

    copie = tmp_path_factory.mktemp("demo_eau") / "demo"
    shutil.copytree(dossier_demo, copie)
    territoire = lire_territoire(copie)
    territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 20}
    ecrire_territoire(territoire, copie)
    return copie


def test_scenarios_coherents_sur_la_demo(demo_20m):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from indicateurs.parametres import lire_parametres
    from services.modeles import preparer_grille_territoire

    parametres = lire_parametres({"resolution_grille_m": 20})
    occupation = preparer_grille_territoire(demo_20m, parametres, cache_disque=False)
    revetement = occupation.revetement.copy()
    zones = Magasin(url_base(demo_20m)).lire_zones()
    table = eau.calculer_eau_territoire(occupation, zones, parametres)
    np.testing.assert_array_equal(occupation.revetement, revetement)
    assert len(table) == 3 * 25
    pivot = table.pivot(index="code_insee", columns="scenario", values="volume_retention_m3_an")
    assert (pivot["realisees"] >= pivot["sans_operations"]).all()
    assert (pivot["realisees_programmees"] >= pivot["realisees"]).all()
    assert (pivot["realisees"] > pivot["sans_operations"]).any()
    total = table.groupby("scenario")[["volume_retention_m3_an", "volume_ruissellement_m3_an"]].sum().sum(axis=1)
    assert total.nunique() == 1 or np.ptp(total.to_numpy()) < 1e-6 * total.iloc[0]  # P × surface conservé


def test_cli_eau_territoire(demo_20m, tmp_path, capsys):
    from cli import main

    assert main(["eau", "--dossier", str(demo_20m), "--sortie", str(tmp_path)]) == 0
    sortie = capsys.readouterr().out
    assert "retenu" in sortie and (tmp_path / "eau_communes.csv").exists()
    assert main(["chaleur", "--dossier", str(demo_20m), "--sortie", str(tmp_path)]) == 0
    assert (tmp_path / "chaleur_communes.csv").exists() and (tmp_path / "T_air_realisees.tif").exists()
