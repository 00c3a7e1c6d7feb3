"""Modèle de chaleur sur grille (InVEST Urban Cooling, méthode des facteurs) : formules, grille, cache,
comparaison avec InVEST 3.20.2 sur shared/reference/invest-cas-ville/, cohérence des scénarios."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from donnees.erreurs import ErreurDonnees
from indicateurs import chaleur as ch
from indicateurs import grille as gr
from outils import DOSSIER_PARTAGE, chemin_partage

REFERENCE = DOSSIER_PARTAGE / "reference" / "invest-cas-ville"
PARAMS = ch.ParametresChaleur(t_ref_c=30, uhi_max_c=3, d_cool_m=450, r_mix_m=500, poids_ombre=0.6,
                              poids_albedo=0.2, poids_eti=0.2, surface_verte_min_m2=20000,
                              seuil_ilot_chaleur_c=2, et0_mm_jour=6, largeur_anneau_m=100)


def _reference() -> Path:
    return chemin_partage("reference", "invest-cas-ville")


# ------------------------------------------------------------------------------------ formules


def test_indice_evapotranspiration_a_la_main():
    assert ch.calculer_indice_evapotranspiration(0.8, 6.0, 6.5) == pytest.approx(0.8 * 6.0 / 6.5)


def test_capacite_refroidissement_a_la_main():
    # arbres : ombre 1, albédo 0,15, ETI 1 → 0,6 + 0,03 + 0,2
    assert ch.calculer_capacite_refroidissement(1.0, 0.15, 1.0, (0.6, 0.2, 0.2)) == pytest.approx(0.83)
    p = ch.ParametresChaleur(**{**PARAMS.__dict__, "poids_ombre": 3, "poids_albedo": 1, "poids_eti": 1})
    assert p.poids_normalises() == pytest.approx((0.6, 0.2, 0.2))


def test_indice_attenuation_a_la_main():
    cc = np.array([0.2, 0.1, 0.1])
    hm = ch.calculer_indice_attenuation(cc, np.array([300.0, 300.0, 100.0]), np.array([0.15, 0.3, 0.3]), 200)
    assert hm.tolist() == pytest.approx([0.2, 0.3, 0.1])  # CC ≥ parc ; parc ; GA < 2 ha


def test_temperature_sans_brassage_a_la_main():
    assert ch.calculer_temperature_sans_brassage(0.25, 30.0, 3.0) == pytest.approx(32.25)


def test_noyau_exponentiel_normalise_et_coupe():
    noyau = ch.construire_noyau_exponentiel(2, 10)
    assert noyau.shape == (21, 21) and noyau.dtype == np.float32
    assert noyau.sum(dtype=np.float64) == pytest.approx(1.0, abs=1e-6)
    assert noyau[10, 11] / noyau[10, 10] == pytest.approx(math.exp(-1 / 2), rel=1e-6)
    assert noyau[0, 0] == 0  # distance √200 > 10 : coupé


def test_convolution_normalisee_contre_somme_explicite():
    rng = np.random.default_rng(3)
    signal = rng.random((7, 9)).astype(np.float32)
    valide = rng.random((7, 9)) > 0.2
    noyau = ch.construire_noyau_exponentiel(1, 3)
    resultat = ch.ConvolueurFFT(valide).convoluer(signal, "k", noyau)
    attendu = np.full(signal.shape, np.nan)
    for i in range(7):
        for j in range(9):
            if not valide[i, j]:
                continue
            num = den = 0.0
            for di in range(-3, 4):
                for dj in range(-3, 4):
                    a, b = i + di, j + dj
                    if 0 <= a < 7 and 0 <= b < 9 and valide[a, b]:
                        num += noyau[di + 3, dj + 3] * signal[a, b]
                        den += noyau[di + 3, dj + 3]
            attendu[i, j] = num / den * noyau.sum(dtype=np.float64)
    np.testing.assert_allclose(resultat, attendu, atol=1e-6)


def test_modele_uniforme_a_la_main():
    # pelouse partout : CC = 0,2·0,2 + 0,2·0,8 = 0,2 ; CC_parc = 0,2 ; T_air = 30 + 0,8·3 = 32,4
    forme = (12, 15)
    modele = ch.ModeleChaleur(np.ones(forme, bool), 10, PARAMS)
    un = np.ones(forme, np.float32)
    res = modele.calculer(0.8 * un, un, 0 * un, 0.2 * un, 6.0, 6.0)
    np.testing.assert_allclose(res.cc, 0.2, atol=1e-6)
    np.testing.assert_allclose(res.hm, 0.2, atol=1e-6)
    np.testing.assert_allclose(res.t_air, 32.4, atol=1e-4)


def test_hors_territoire_nodata_et_entrees_intactes():
    forme = (20, 20)
    valide = np.ones(forme, bool)
    valide[:, :3] = False
    revetement = np.full(forme, gr.indexer_revetements(["enrobe"])[0], np.uint8)
    revetement[5:15, 5:15] = gr.indexer_revetements(["arbres"])[0]
    revetement[~valide] = 0
    copie = revetement.copy()
    res = ch.ModeleChaleur(valide, 10, PARAMS).calculer_revetements(revetement)
    assert np.isnan(res.t_air[:, :3]).all() and np.isfinite(res.t_air[:, 3:]).all()
    assert res.t_air[10, 10] < res.t_air[1, 18]  # sous les arbres plus frais que sur l'enrobé
    np.testing.assert_array_equal(revetement, copie)


def test_score_site_a_la_main():
    zones = pd.DataFrame({"revetement_avant": ["enrobe", "beton"], "revetement_apres": ["pelouse", "beton"],
                          "surface_m2": [100.0, 100.0]})
    copie = zones.copy()
    score = ch.estimer_score_site(zones, PARAMS)
    # CC : enrobé 0,016 ; béton 0,06 ; pelouse 0,2 → avant 0,038, après 0,13
    assert score["cc_avant"] == pytest.approx(0.038)
    assert score["cc_apres"] == pytest.approx(0.13)
    assert score["delta_t_local_c"] == pytest.approx(-0.092 * 3)
    assert score["estimation"] is True and score["libelle"] == "estimation, sans brassage de l'air"
    pd.testing.assert_frame_equal(zones, copie)
    with pytest.raises(ErreurDonnees):
        ch.estimer_score_site(zones.assign(revetement_apres=["gazon", "beton"]), PARAMS)


# ------------------------------------------------------------------------------------ grille


def _occupation_test() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Deux communes de 200 m × 100 m (Lambert-93) : bourg bâti (avec un square) à l'ouest, vigne et pelouse
    à l'est."""
    x0, y0 = 700000.0, 6250000.0
    communes = gpd.GeoDataFrame({"code_insee": ["34001", "34002"]},
                                geometry=[box(x0, y0, x0 + 200, y0 + 100), box(x0 + 200, y0, x0 + 400, y0 + 100)],
                                crs="EPSG:2154")
    occupation = gpd.GeoDataFrame(
        {"code_cs": ["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1", "CS2.2.1", "CS2.2.1"],
         "code_us": [None, None, "US1.1", None, None]},
        geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 100, y0, x0 + 200, y0 + 100),
                  box(x0 + 200, y0, x0 + 300, y0 + 100), box(x0 + 300, y0, x0 + 400, y0 + 100),
                  box(x0 + 40, y0 + 40, x0 + 60, y0 + 60)],  # square de 20 m dans le bourg
        crs="EPSG:2154").to_crs("EPSG:4326")
    return occupation, communes


def test_rasterisation_occupation_et_correspondance_ocsge():
    occupation, communes = _occupation_test()
    occ = gr.preparer_occupation_grille(occupation, communes, 10, 30, 0.5)
    assert occ.grille.forme == (10, 40) and occ.codes_insee == ("34001", "34002")
    codes = np.array(("hors",) + gr.lister_codes_revetement())[occ.revetement]
    assert (codes[:, :4] == "bati").all() and (codes[:, 12:18] == "enrobe").all()
    assert (codes[4:6, 4:6] == "pelouse").all()
    assert (codes[:, 22:28] == "vigne").all() and (codes[:, 32:38] == "pelouse").all()  # CS2.2.1 + US1.1
    assert occ.artificialise[:, :4].all() and not occ.artificialise[4:6, 4:6].any()
    assert (occ.commune[:, :20] == 1).all() and (occ.commune[:, 20:] == 2).all()
    # urbain : artificialisé, ou tissu urbain (≥ 50 % d'artificialisé à 30 m) : le square en est, pas la vigne
    assert occ.urbain[:, :20].all() and not occ.urbain[:, 20:].any()


def test_code_ocsge_inconnu_refuse():
    with pytest.raises(ErreurDonnees, match="ocsge_revetements"):
        gr.traduire_ocsge(["CS9.9"], [None])
    # code plus fin que la table : le parent s'applique
    indices, artificiel = gr.traduire_ocsge(["CS2.1.1.1.5"], [None])
    assert gr.lister_codes_revetement()[indices[0] - 1] == "arbres" and not artificiel[0]


def test_zonage_bincount_et_scenarios():
    occupation, communes = _occupation_test()
    occ = gr.preparer_occupation_grille(occupation, communes, 10, 30, 0.5)
    avant = occ.revetement.copy()
    x0, y0 = 700000.0, 6250000.0
    zones = gpd.GeoDataFrame({"zone_id": [1, 2], "operation_id": [10, 11], "code_insee": ["34001", "34001"],
                              "revetement_avant": ["enrobe", "enrobe"], "revetement_apres": ["pelouse", "arbres"],
                              "statut": ["realisee", "programmee"]},
                             geometry=[box(x0 + 120, y0 + 20, x0 + 160, y0 + 60),
                                       box(x0 + 170, y0 + 20, x0 + 190, y0 + 40)], crs="EPSG:2154")
    scenarios = gr.construire_scenarios(occ, zones)
    np.testing.assert_array_equal(occ.revetement, avant)
    pelouse, arbres = gr.indexer_revetements(["pelouse", "arbres"])
    assert (scenarios["sans_operations"] == avant).all()
    assert (scenarios["realisees"] == pelouse).sum() == 16 + (avant == pelouse).sum()
    assert (scenarios["realisees"] == arbres).sum() == 0
    assert (scenarios["realisees_programmees"] == arbres).sum() == 4
    comptes = gr.sommer_par_etiquette(occ.commune, None, None, 3)
    assert comptes.tolist() == [0, 200, 200]
    moyenne, n = gr.moyenner_par_etiquette(occ.commune, occ.artificialise.astype(float), None, 3)
    assert np.isnan(moyenne[0]) and moyenne[1:].tolist() == [196 / 200, 0.0]  # square : 4 cellules
    numeros, cellules = gr.indexer_cellules_geometries(zones.geometry.values, occ.grille)
    assert np.bincount(numeros).tolist() == [16, 4]


# ------------------------------------------------------------------------------------ InVEST


@pytest.fixture(scope="module")
def sorties_reference(tmp_path_factory):
    from services.modeles import executer_chaleur_invest

    dossier = _reference()
    entrees = dossier / "entrees"
    sortie = tmp_path_factory.mktemp("chaleur_reference")
    return {scenario: executer_chaleur_invest(entrees / f"occupation_{scenario}.tif", entrees / "classes.csv",
                                              entrees / "et0_mm_jour.tif", entrees / "zones.geojson",
                                              entrees / "parametres.json", sortie, f"_{scenario}")
            for scenario in ("avant", "apres")}


@pytest.mark.parametrize("scenario", ["avant", "apres"])
def test_zones_comme_invest(sorties_reference, scenario):
    ref = pd.read_csv(REFERENCE / "sorties_invest" / f"chaleur_{scenario}_zones.csv")
    calcul = sorties_reference[scenario]["zones"].merge(ref, on="zone", suffixes=("", "_invest"))
    assert len(calcul) == 3
    assert (calcul["avg_tmp_v"] - calcul["avg_tmp_v_invest"]).abs().max() <= 0.02
    assert (calcul["avg_cc"] - calcul["avg_cc_invest"]).abs().max() <= 0.01
    relu = pd.read_csv(sorties_reference[scenario]["fichiers"]["zones"])
    assert {"avg_cc", "avg_tmp_v", "avg_tmp_an"} <= set(relu.columns)


@pytest.mark.parametrize("scenario", ["avant", "apres"])
# Erreur maximale mesurée (cas de référence, avant et après) : hm 8,2e-8, cc 0, T_air 1,4e-5 °C, soit l'arrondi
# des grilles float32 d'InVEST ; la borne laisse une marge d'un ordre de grandeur au moins.
@pytest.mark.parametrize("nom, tolerance, erreur_max", [("hm", 0.01, 1e-6), ("cc", 0.01, 1e-6),
                                                        ("T_air", 0.05, 1e-4)])
def test_grilles_comme_invest(sorties_reference, scenario, nom, tolerance, erreur_max):
    with rasterio.open(REFERENCE / "sorties_invest" / f"chaleur_{scenario}_{nom}.tif") as source:
        invest = source.read(1).astype(np.float64)
        transform = source.transform
    with rasterio.open(sorties_reference[scenario]["fichiers"][nom]) as source:
        calcul = source.read(1).astype(np.float64)
        assert source.transform == transform and source.crs.to_epsg() == 2154
    # issue 12 : plus aucune cellule en écart (le seuil de 2 ha compare GA arrondie) : 0 cellule hors tolérance
    en_ecart = np.count_nonzero(np.abs(np.nan_to_num(calcul - invest)) > tolerance)
    assert en_ecart == 0, f"{nom} : {en_ecart} cellule(s) hors de la tolérance {tolerance:g}"
    assert np.array_equal(np.isnan(calcul), np.isnan(invest)), f"{nom} : cellules sans valeur différentes"
    ecart = np.nanmax(np.abs(calcul - invest))
    assert ecart <= erreur_max, f"{nom} : écart maximal {ecart:.3g} au-delà de {erreur_max:g}"


def test_erreurs_fichiers_invest(tmp_path):
    from donnees.rasters import lire_table_biophysique
    from services.modeles import executer_chaleur_invest

    entrees = _reference() / "entrees"
    table = pd.read_csv(entrees / "classes.csv")
    table.drop(columns="albedo").to_csv(tmp_path / "sans_albedo.csv", index=False)
    with pytest.raises(ErreurDonnees, match="sans_albedo.csv.*albedo"):
        lire_table_biophysique(tmp_path / "sans_albedo.csv", "chaleur")
    table[table["lucode"] != 8].to_csv(tmp_path / "sans_vigne.csv", index=False)
    with pytest.raises(ErreurDonnees, match="lucode.*8.*sans_vigne.csv"):
        executer_chaleur_invest(entrees / "occupation_avant.tif", tmp_path / "sans_vigne.csv",
                                entrees / "et0_mm_jour.tif", entrees / "zones.geojson",
                                entrees / "parametres.json", tmp_path / "sortie")
    (tmp_path / "faux.tif").write_text("pas un raster")
    with pytest.raises(ErreurDonnees, match="faux.tif"):
        executer_chaleur_invest(tmp_path / "faux.tif", entrees / "classes.csv", entrees / "et0_mm_jour.tif",
                                entrees / "zones.geojson", entrees / "parametres.json", tmp_path / "sortie")
    (tmp_path / "p.json").write_text(json.dumps({"cc_method": "intensity"}))
    with pytest.raises(ErreurDonnees, match="intensity"):
        executer_chaleur_invest(entrees / "occupation_avant.tif", entrees / "classes.csv",
                                entrees / "et0_mm_jour.tif", entrees / "zones.geojson", tmp_path / "p.json",
                                tmp_path / "sortie")


def test_cli_chaleur_mode_invest(tmp_path, capsys):
    from cli import main

    entrees = _reference() / "entrees"
    code = main(["chaleur", "--occupation", str(entrees / "occupation_apres.tif"), "--biophysique",
                 str(entrees / "classes.csv"), "--et0", str(entrees / "et0_mm_jour.tif"), "--zones",
                 str(entrees / "zones.geojson"), "--parametres", str(entrees / "parametres.json"),
                 "--sortie", str(tmp_path)])
    assert code == 0
    assert {"T_air.tif", "hm.tif", "cc.tif", "chaleur_zones.csv"} <= {f.name for f in tmp_path.iterdir()}
    assert "centre" in capsys.readouterr().out
    assert main(["chaleur", "--occupation", str(entrees / "occupation_apres.tif"), "--sortie", str(tmp_path)]) == 2


# ------------------------------------------------------------------------------------ territoire


@pytest.fixture(scope="module")
def demo_20m(dossier_demo, tmp_path_factory):
    """Copie de la démonstration « petite » avec une grille de 20 m (4 fois moins de cellules)."""
    from donnees.referentiel import ecrire_territoire, lire_territoire

    copie = tmp_path_factory.mktemp("demo_chaleur") / "demo"
    shutil.copytree(dossier_demo, copie)
    territoire = lire_territoire(copie)
    territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 20}
    ecrire_territoire(territoire, copie)
    return copie


@pytest.fixture(scope="module")
def modeles_demo(demo_20m):
    from services.modeles import calculer_modeles_territoire

    ch.vider_cache_memoire()
    return calculer_modeles_territoire(demo_20m)


def test_scenarios_coherents_sur_la_demo(modeles_demo):
    table = modeles_demo.chaleur.communes
    assert set(table["scenario"]) == set(gr.SCENARIOS)
    pivot = table.pivot(index="code_insee", columns="scenario", values="t_air_moyenne_c")
    assert len(pivot) == 25 and pivot.notna().all().all()
    tolerance = 1e-5  # bruit de calcul en simple précision (°C)
    assert (pivot["realisees"] <= pivot["sans_operations"] + tolerance).all()
    assert (pivot["realisees_programmees"] <= pivot["realisees"] + tolerance).all()
    assert (pivot["realisees"] < pivot["sans_operations"]).any()
    ilots = table.pivot(index="code_insee", columns="scenario", values="surface_ilot_chaleur_m2")
    assert ilots["realisees_programmees"].sum() <= ilots["sans_operations"].sum()
    moyennes = {nom: np.nanmean(grille[modeles_demo.occupation.urbain]) for nom, grille in
                modeles_demo.chaleur.t_air.items()}
    assert moyennes["realisees_programmees"] <= moyennes["realisees"] <= moyennes["sans_operations"]


def test_table_operations_et_grille_pour_la_carte(modeles_demo, dossier_demo):
    from donnees.config import url_base
    from donnees.magasin import Magasin

    zones = Magasin(url_base(dossier_demo)).lire_zones()
    ops = modeles_demo.chaleur.operations
    # Seules les opérations validées entrent dans les modèles (indicateurs publics, identiques pour tous).
    assert set(ops["operation_id"]) == set(zones.loc[zones["validation"] == "validee", "operation_id"])
    assert set(zones["operation_id"]) - set(ops["operation_id"])  # la démo a des saisies en attente
    assert (ops["cellules_anneau"] > 0).all()
    realisees = ops[ops["statut"] == "realisee"]
    assert (realisees["delta_t_emprise_c"] < 0).mean() > 0.9
    t_air = modeles_demo.chaleur.t_air["realisees"]
    assert t_air.dtype == np.float64  # double précision : mise à jour incrémentale exacte
    assert t_air.shape == modeles_demo.chaleur.grille.forme
    assert modeles_demo.chaleur.grille.transform.a == 20


def test_cache_memoire_et_disque(modeles_demo, demo_20m, dossier_demo):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from services.modeles import calculer_modeles_territoire

    assert calculer_modeles_territoire(demo_20m, avec_eau=False).chaleur is modeles_demo.chaleur
    fichiers = list((demo_20m / "cache").glob("chaleur_*.npz"))
    assert [f.name for f in fichiers] == [f"chaleur_{modeles_demo.chaleur.cle}.npz"]
    ch.vider_cache_memoire()
    relu = calculer_modeles_territoire(demo_20m, avec_eau=False).chaleur
    assert relu is not modeles_demo.chaleur and relu.cle == modeles_demo.chaleur.cle
    np.testing.assert_array_equal(relu.t_air["realisees"], modeles_demo.chaleur.t_air["realisees"])
    pd.testing.assert_frame_equal(relu.communes, modeles_demo.chaleur.communes)
    # la clé change avec le statut d'une zone ou un paramètre
    zones = Magasin(url_base(dossier_demo)).lire_zones()
    zones = zones[zones["validation"] == "validee"]  # celles qui entrent dans les modèles
    signature = modeles_demo.occupation.meta["cle"]
    cle = ch.calculer_cle_chaleur(zones, signature, modeles_demo.chaleur.parametres)
    assert cle == modeles_demo.chaleur.cle
    autre = zones.copy()
    autre.loc[autre.index[0], "statut"] = "programmee" if autre["statut"].iloc[0] == "realisee" else "realisee"
    assert ch.calculer_cle_chaleur(autre, signature, modeles_demo.chaleur.parametres) != cle
    p = ch.ParametresChaleur(**{**modeles_demo.chaleur.parametres.__dict__, "uhi_max_c": 4})
    assert ch.calculer_cle_chaleur(zones, signature, p) != cle


# ------------------------------------------------------------------------------------ seuil de 2 ha

# Parc d'arbres de 10 × 20 cellules de 10 m (200 cellules = 2 ha tout juste) dans de l'enrobé ;
# d_cool = 300 m (30 cellules) : le disque de la cellule voisine du parc couvre tout le parc.
PARAMS_2HA = ch.ParametresChaleur(**{**PARAMS.__dict__, "d_cool_m": 300, "r_mix_m": 100})
FORME_2HA = (100, 100)  # le disque de 30 cellules autour de la voisine reste dans la grille
VOISINE = (50, 61)  # à droite du parc, au milieu de son petit côté


def _parc(cellules: int) -> np.ndarray:
    """Masque du parc : 10 lignes × 20 colonnes, moins les dernières cellules pour en garder ``cellules``."""
    parc = np.zeros(FORME_2HA, bool)
    parc[45:55, 40:60] = True
    for i in range(200 - cellules):
        parc[45 + i, 40] = False
    assert parc.sum() == cellules
    return parc


def _attendre_hm_du_parc(res, cellules: int, seuil_px: float) -> None:
    ligne, colonne = VOISINE
    cc, cc_parc, hm = res.cc[ligne, colonne], res.cc_parc[ligne, colonne], res.hm[ligne, colonne]
    assert cc < cc_parc  # sinon HM = CC quoi qu'il arrive : le test ne dirait rien
    # tout le parc dans le disque ; la FFT rend 199,99999999999994 pour 200 (d'où l'arrondi avant le seuil)
    assert abs(res.surface_verte_px[ligne, colonne] - cellules) < 1e-6
    if cellules >= seuil_px:
        assert hm == pytest.approx(cc_parc, abs=1e-7), "parc de 2 ha : HM = CC_parc"
    else:
        assert hm == pytest.approx(cc, abs=1e-7), "parc sous 2 ha : HM = CC"


@pytest.mark.parametrize("cellules", [200, 199])
def test_parc_de_2_ha_mode_territoire(cellules):
    """Mode territoire (double précision, revêtements de revetements.csv), comme calculer_chaleur_territoire :
    un parc d'exactement 2 ha donne sa valeur à ses voisins (HM = CC_parc), un parc de 199 cellules non."""
    sol, arbres = gr.indexer_revetements(["enrobe", "arbres"])
    revetement = np.where(_parc(cellules), arbres, sol).astype(np.uint8)
    modele = ch.ModeleChaleur(np.ones(FORME_2HA, bool), 10, PARAMS_2HA, dtype=np.float64)
    assert modele.seuil_px == 200
    res = modele.calculer_revetements(revetement, garder_intermediaires=True)
    _attendre_hm_du_parc(res, cellules, modele.seuil_px)
    # calculer_chaleur_territoire passe par le même calcul : même T_air
    x0, y1 = 700000.0, 6251000.0
    occupation = gr.OccupationGrille(gr.Grille(x0, y1, 10.0, FORME_2HA[1], FORME_2HA[0]), revetement,
                                     np.zeros(FORME_2HA, bool), np.ones(FORME_2HA, np.uint8), ("34001",),
                                     urbain=np.ones(FORME_2HA, bool))
    zones = gpd.GeoDataFrame({"zone_id": [], "operation_id": [], "code_insee": [], "revetement_avant": [],
                              "revetement_apres": [], "statut": []}, geometry=[], crs="EPSG:2154")
    territoire = ch.calculer_chaleur_territoire(occupation, zones, PARAMS_2HA, f"parc-{cellules}",
                                                scenarios=("sans_operations",), utiliser_cache=False)
    np.testing.assert_allclose(territoire.t_air["sans_operations"], res.t_air, atol=1e-9)


@pytest.mark.parametrize("cellules", [200, 199])
def test_parc_de_2_ha_mode_invest(tmp_path, cellules):
    """Mode InVEST (fichiers, simple précision) : même règle sur un parc d'exactement 2 ha et juste en dessous."""
    from services.modeles import executer_chaleur_invest

    x0, y1 = 700000.0, 6251000.0
    transform = rasterio.Affine(10, 0, x0, 0, -10, y1)
    profil = {"driver": "GTiff", "height": FORME_2HA[0], "width": FORME_2HA[1], "count": 1, "crs": "EPSG:2154",
              "transform": transform}
    with rasterio.open(tmp_path / "occupation.tif", "w", dtype="int32", nodata=-1, **profil) as sortie:
        sortie.write(np.where(_parc(cellules), 2, 1).astype(np.int32), 1)
    with rasterio.open(tmp_path / "et0.tif", "w", dtype="float32", nodata=-1, **profil) as sortie:
        sortie.write(np.full(FORME_2HA, 6.0, np.float32), 1)
    pd.DataFrame({"lucode": [1, 2], "kc": [0.0, 1.0], "green_area": [0, 1], "shade": [0.0, 1.0],
                  "albedo": [0.1, 0.15]}).to_csv(tmp_path / "classes.csv", index=False)
    gpd.GeoDataFrame({"zone": ["tout"]}, geometry=[box(x0, y1 - 1000, x0 + 1000, y1)],
                     crs="EPSG:2154").to_file(tmp_path / "zones.geojson", driver="GeoJSON")
    parametres = json.loads((_reference() / "entrees" / "parametres.json").read_text())
    parametres.update(green_area_cooling_distance_m=300.0, t_air_average_radius_m=100.0)
    (tmp_path / "parametres.json").write_text(json.dumps(parametres))
    sorties = executer_chaleur_invest(tmp_path / "occupation.tif", tmp_path / "classes.csv", tmp_path / "et0.tif",
                                      tmp_path / "zones.geojson", tmp_path / "parametres.json", tmp_path / "sortie")
    res = sorties["resultat"]
    if res.cc_parc is None:  # le mode InVEST ne garde pas les intermédiaires : recalculés par le même modèle
        modele = ch.ModeleChaleur(np.ones(FORME_2HA, bool), 10, PARAMS_2HA)
        parc = _parc(cellules).astype(np.float32)
        res = modele.calculer(parc, parc, parc, np.where(parc > 0, 0.15, 0.1), 6.0, 6.0, garder_intermediaires=True)
        np.testing.assert_array_equal(res.hm, sorties["resultat"].hm)
    _attendre_hm_du_parc(res, cellules, 200)
    with rasterio.open(sorties["fichiers"]["hm"]) as source:  # le GeoTIFF écrit dit la même chose
        assert source.read(1)[VOISINE] == pytest.approx(float(res.hm[VOISINE]), abs=1e-7)
