"""Chiffres honnêtes (issue 11) : chaleur sur l'emprise et aux abords, surface sortie de l'îlot de chaleur,
ratio SDAGE en %, part réalisée / programmée par année, légende du périmètre."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from indicateurs.catalogue import formater_valeur, unite
from indicateurs.chaleur_abords import (
    agreger_chaleur_abords,
    calculer_rafraichissement_emprise,
    joindre_chaleur_abords,
    sommer_chaleur_abords,
)
from indicateurs.communs import Filtres
from indicateurs.grille import Grille, OccupationGrille
from indicateurs.parametres import lire_parametres
from indicateurs.synthese import separer_realise_programme
from indicateurs.trajectoire import calculer_ratio_compensation, cible_sdage_pourcent, evaluer_ratio_sdage
from services.indicateurs import decrire_perimetre, nommer_statuts, statuts_non_comptes

X0, Y1, R = 700_000.0, 6_260_000.0, 10.0  # grille 10 × 10 de 10 m (Lambert-93)


def occupation_deux_communes() -> OccupationGrille:
    """Colonnes 0-4 : commune A (étiquette 1), colonnes 5-9 : commune B (étiquette 2) ; tout urbain."""
    commune = np.ones((10, 10), dtype=np.int32)
    commune[:, 5:] = 2
    revetement = np.ones((10, 10), dtype=np.uint8)
    return OccupationGrille(Grille(X0, Y1, R, 10, 10), revetement, np.ones((10, 10), bool), commune, ("A", "B"),
                            np.ones((10, 10), bool))


def zone_cellules(lig0, lig1, col0, col1) -> gpd.GeoDataFrame:
    """Zone couvrant exactement les cellules [lig0, lig1) × [col0, col1)."""
    geometrie = box(X0 + col0 * R, Y1 - lig1 * R, X0 + col1 * R, Y1 - lig0 * R)
    return gpd.GeoDataFrame({"operation_id": [1], "statut": ["realisee"]}, geometry=[geometrie], crs="EPSG:2154")


def test_rafraichissement_aux_abords_moyenne_sur_emprise_et_tampon():
    occupation = occupation_deux_communes()
    sans = np.full((10, 10), 33.0, dtype=np.float32)
    realise = sans.copy()
    realise[2:4, 2:4] -= 0.8  # emprise (4 cellules de A)
    realise[1:5, 1:5] -= 0.2  # première couronne (et emprise) un peu plus fraîche
    zones = zone_cellules(2, 4, 2, 4)
    sommes = sommer_chaleur_abords({"sans_operations": sans, "realisees": realise}, occupation, zones,
                                   largeur_m=R, t_ref_c=30.0, seuil_c=2.0)
    # tampon de 10 m autour d'un carré 2 × 2 cellules : carré 4 × 4 (le centre d'une cellule de coin est à
    # 5·√2 ≈ 7 m du coin de l'emprise) → 16 cellules ; écarts : 4 × (0,8 + 0,2) + 12 × 0,2 = 6,4 °C
    table = agreger_chaleur_abords(sommes, ["A", "B"])
    assert table.loc["A", "surface_abords"] == pytest.approx(16 * R * R)
    assert table.loc["A", "rafraichissement_abords"] == pytest.approx(6.4 / 16, rel=1e-5)
    assert np.isnan(table.loc["B", "rafraichissement_abords"]) and table.loc["B", "surface_abords"] == 0
    assert table.loc["bassin", "rafraichissement_abords"] == pytest.approx(6.4 / 16, rel=1e-5)
    # tampon de 20 m : la deuxième couronne (20 cellules, écart nul) entre dans la moyenne, sans les 4 coins
    # (centres à 15·√2 ≈ 21 m du coin de l'emprise) : 32 cellules, dont 4 dans la colonne 5 (commune B)
    large = agreger_chaleur_abords(sommer_chaleur_abords({"sans_operations": sans, "realisees": realise},
                                                         occupation, zones, 2 * R, 30.0, 2.0), ["A", "B"])
    assert large["surface_abords"].tolist() == pytest.approx([28 * R * R, 4 * R * R, 32 * R * R])
    assert large.loc["A", "rafraichissement_abords"] == pytest.approx(6.4 / 28, rel=1e-5)
    assert large.loc["B", "rafraichissement_abords"] == pytest.approx(0.0, abs=1e-6)
    assert large.loc["bassin", "rafraichissement_abords"] == pytest.approx(6.4 / 32, rel=1e-5)
    # sans zone : pas de cellule, rafraîchissement inconnu (NaN), jamais 0 inventé
    vide = agreger_chaleur_abords(sommer_chaleur_abords({"sans_operations": sans, "realisees": realise},
                                                        occupation, zones.iloc[0:0], R, 30.0, 2.0), ["A"])
    assert np.isnan(vide.loc["bassin", "rafraichissement_abords"])


def test_surface_sortie_de_l_ilot_de_chaleur():
    occupation = occupation_deux_communes()
    sans = np.full((10, 10), 31.0, dtype=np.float32)
    sans[0, :] = 32.5  # 10 cellules en îlot (anomalie 2,5 > 2) sans les opérations : 5 dans A, 5 dans B
    realise = sans.copy()
    realise[0, 0:3] = 31.9  # 3 cellules de A repassent sous le seuil
    realise[0, 7] = 32.0  # 1 cellule de B à 2,0 °C : au seuil, donc hors îlot (« > seuil »)
    realise[5, 5] = 30.5  # cellule qui n'était pas en îlot : ne compte pas
    occupation.urbain[0, 1] = False  # cellule non urbaine : ne compte pas
    sommes = sommer_chaleur_abords({"sans_operations": sans, "realisees": realise}, occupation,
                                   zone_cellules(5, 6, 5, 6), largeur_m=R, t_ref_c=30.0, seuil_c=2.0)
    table = agreger_chaleur_abords(sommes, ["A", "B"])
    assert table["surface_sortie_ilot"].tolist() == [2 * R * R, 1 * R * R, 3 * R * R]


def test_joindre_chaleur_abords_porte_sur_les_communes_de_la_table():
    occupation = occupation_deux_communes()
    sans = np.full((10, 10), 33.0, dtype=np.float32)
    realise = sans - np.float32(0.1)
    sommes = sommer_chaleur_abords({"sans_operations": sans, "realisees": realise}, occupation,
                                   zone_cellules(0, 10, 4, 6), largeur_m=1.0, t_ref_c=30.0, seuil_c=2.0)
    table = joindre_chaleur_abords(pd.DataFrame({"territoire": ["B", "bassin"]}), sommes)
    assert table.set_index("territoire").loc["bassin", "surface_abords"] == pytest.approx(10 * R * R)
    sans_modele = joindre_chaleur_abords(pd.DataFrame({"territoire": ["B", "bassin"]}), None)
    assert sans_modele["rafraichissement_abords"].isna().all()


def test_rafraichissement_emprise_estimation_locale():
    # issue 12 : l'estimation par site est celle de chaque opération (emprise + anneau, calibrée sur la grille),
    # moyennée par commune avec le poids de ses cellules ; plus UHI_max × ΔCC moyen (350 à 3 000 fois trop fort)
    import geopandas as gpd
    from shapely.geometry import box

    from indicateurs.chaleur_abords import estimer_rafraichissement_operations

    parametres = lire_parametres()
    x, y = 700_000.0, 6_250_000.0
    zones = gpd.GeoDataFrame({"operation_id": [1, 1, 2, 3],
                              "revetement_avant": ["enrobe", "enrobe", "enrobe", "pelouse"],
                              "revetement_apres": ["pelouse", "enrobe", "arbres", "pelouse"]},
                             geometry=[box(x, y, x + 30, y + 30), box(x + 30, y, x + 60, y + 30),
                                       box(x + 2000, y, x + 2050, y + 40), box(x + 5000, y, x + 5020, y + 20)],
                             crs="EPSG:2154")
    operations = pd.DataFrame({"id": [1, 2, 3], "code_insee": ["A", "A", "B"]})
    resultat = calculer_rafraichissement_emprise(zones, operations, ["A", "B", "C"], parametres)
    sites = estimer_rafraichissement_operations(zones, parametres).set_index("operation_id")
    poids = sites.loc[[1, 2], "cellules_site"]
    assert resultat["A"] == pytest.approx(np.average(sites.loc[[1, 2], "rafraichissement_site_c"], weights=poids))
    assert resultat["B"] == pytest.approx(0.0)
    assert np.isnan(resultat["C"])
    assert resultat["bassin"] == pytest.approx(np.average(sites["rafraichissement_site_c"],
                                                          weights=sites["cellules_site"]))
    assert 0 < resultat["A"] < 0.01 * parametres["uhi_max_c"] * sites.loc[2, "delta_cc"]  # positif = plus frais
    assert sites.loc[2, "rafraichissement_site_c"] > sites.loc[1, "rafraichissement_site_c"] > 0


def test_ratio_sdage_en_pourcentage_contre_la_cible_des_parametres():
    cible = lire_parametres()["ratio_sdage_cible"]
    assert cible_sdage_pourcent(cible) == pytest.approx(150.0)
    ratios = calculer_ratio_compensation(pd.Series([149.0, 150.0, 10.0]), pd.Series([100.0, 100.0, 0.0]))
    assert ratios.iloc[:2].tolist() == pytest.approx([149.0, 150.0]) and np.isnan(ratios.iloc[2])
    assert evaluer_ratio_sdage(ratios, cible).tolist() == [False, True, pd.NA]
    assert unite("ratio_compensation_sdage") == "%"
    assert formater_valeur("ratio_compensation_sdage", 112.4) == "112 %"


def test_part_realisee_et_programmee_par_annee():
    realise = pd.DataFrame({"annee": [2024, 2025, 2031], "surface_desimpermeabilisee": [100.0, 50.0, 7.0]})
    projete = pd.DataFrame({"annee": [2025, 2027], "surface_desimpermeabilisee": [30.0, 400.0]})
    table = separer_realise_programme(realise, projete, "surface_desimpermeabilisee", annee_courante=2026)
    assert table["annee"].tolist() == [2024, 2025, 2027, 2031]
    assert table["realise"].tolist() == [100.0, 50.0, 0.0, 0.0]  # 2031 : une date à venir n'est pas « fait »
    assert table["programme"].tolist() == [0.0, 30.0, 400.0, 7.0]


def test_legende_du_perimetre():
    defaut = Filtres(statuts=["realisee"])
    assert statuts_non_comptes(defaut) == ("programmee", "en_travaux")
    assert nommer_statuts(statuts_non_comptes(defaut)) == "en travaux et programmées"
    texte = decrire_perimetre("Bassin de Thau", defaut, validees_seulement=True)
    assert texte == ("Périmètre : Bassin de Thau · opérations réalisées (travaux terminés) · validées par le "
                     "syndicat.")
    tous = decrire_perimetre("vos communes (Sète)", Filtres(annees=[2020, 2021, 2022], types=["place"]), False,
                             {"place": "Place"})
    assert "projection comprise" in tous and "vos communes (Sète)" in tous
    assert "de 2020 à 2022" in tous and "types : Place" in tous and "à valider" in tous
    assert statuts_non_comptes(Filtres()) == ()
