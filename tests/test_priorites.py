"""Tests des priorités par parcelle : surfaces imperméables par intersection exacte, anomalie de chaleur
moyenne (grille de 10 m), score transparent, classement. Parcelles et occupation tracées en Lambert-93
(origine X0, Y0), données en WGS84 comme dans le référentiel."""

from __future__ import annotations

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from donnees.erreurs import ErreurDonnees
from indicateurs.priorites import (
    calculer_anomalie_parcelles,
    calculer_impermeabilite_parcelles,
    calculer_priorites,
    calculer_score_priorite,
    classer_parcelles,
    lire_parametres_priorites,
)

X0, Y0 = 750_000.0, 6_255_000.0
P1, P2, P3, P4, P5 = (f"34301000AB000{i}" for i in range(1, 6))
PARAMETRES = {"uhi_max_c": 3.0}
REGLAGES = {"poids_surface_non_batie": 0.4, "poids_part_impermeable": 0.2, "poids_chaleur": 0.3,
            "poids_public": 0.1, "surface_reference_m2": 2000, "surface_candidate_min_m2": 100}


def rectangle(x0, y0, x1, y1):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def couche(geometries, crs_sortie="EPSG:4326", **colonnes):
    return gpd.GeoDataFrame(colonnes, geometry=gpd.GeoSeries(geometries, crs="EPSG:2154")).to_crs(crs_sortie)


@pytest.fixture
def parcelles():
    # P1, P2 : 100 × 100 m côte à côte ; P3 : 10 × 10 m ; P4 : 2 × 2 m (plus petite qu'une cellule) ;
    # P5 : hors de la grille de chaleur.
    return couche([rectangle(0, 0, 100, 100), rectangle(100, 0, 200, 100), rectangle(0, 100, 10, 110),
                   rectangle(12, 102, 14, 104), rectangle(1000, 1000, 1010, 1010)],
                  id=[P1, P2, P3, P4, P5], commune=["34301"] * 5)


@pytest.fixture
def occupation():
    # o1 bâti 20 × 20 dans P1 ; o2 parking 100 × 30 à cheval sur P1 et P2 ; o3 pelouse (perméable) ;
    # o4 voirie qui touche seulement P2 par un bord ; o5 cour confondue avec P3.
    return couche([rectangle(10, 10, 30, 30), rectangle(50, 50, 150, 80), rectangle(0, 0, 200, 100),
                   rectangle(200, 0, 300, 100), rectangle(0, 100, 10, 110)],
                  id=["o1", "o2", "o3", "o4", "o5"], code_insee=["34301"] * 5,
                  code_cs=["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1", "CS1.1.1.2", "CS1.1.1.2"])


@pytest.fixture
def grille():
    """Grille de 10 m couvrant x ∈ [0, 300], y ∈ [0, 110] ; valeur = 0,1 × numéro de colonne."""
    anomalie = np.tile(np.arange(30, dtype=float) * 0.1, (11, 1))
    return anomalie, Affine(10, 0, X0, 0, -10, Y0 + 110)


def test_surfaces_impermeables_par_intersection_exacte(parcelles, occupation):
    t = calculer_impermeabilite_parcelles(parcelles, occupation).set_index("id")
    assert t["surface_parcelle"].to_numpy()[:3] == pytest.approx([10_000, 10_000, 100], abs=0.01)
    # P1 : 400 bâtis + 50 × 30 de parking ; P2 : 50 × 30 (le simple contact avec o4 ne compte pas) ; P3 : 100
    assert t["surface_impermeable_parcelle"].to_numpy()[:4] == pytest.approx([1_900, 1_500, 100, 0], abs=0.01)
    assert t["surface_impermeable_non_batie_parcelle"].to_numpy()[:3] == pytest.approx([1_500, 1_500, 100],
                                                                                      abs=0.01)
    # mêmes résultats avec des couches déjà en Lambert-93
    t93 = calculer_impermeabilite_parcelles(parcelles.to_crs(2154), occupation.to_crs(2154)).set_index("id")
    assert t93["surface_impermeable_parcelle"].to_numpy() == pytest.approx(t["surface_impermeable_parcelle"],
                                                                           abs=0.01)


def test_surface_plafonnee_si_l_occupation_se_recouvre(parcelles, occupation):
    doublee = pd.concat([occupation, occupation.iloc[[4]]], ignore_index=True)
    t = calculer_impermeabilite_parcelles(parcelles, doublee).set_index("id")
    assert t.loc[P3, "surface_impermeable_parcelle"] == pytest.approx(100, abs=0.01)


def test_anomalie_moyenne_par_parcelle(parcelles, grille):
    anomalie, transformation = grille
    valeurs = calculer_anomalie_parcelles(parcelles, anomalie, transformation)
    # P1 : colonnes 0 à 9 → 0,45 ; P2 : colonnes 10 à 19 → 1,45 ; P3 : cellule (0, 0) → 0 ;
    # P4 : aucune cellule centrée dedans → cellule de son point intérieur (colonne 1) ; P5 : hors grille
    assert valeurs[:4] == pytest.approx([0.45, 1.45, 0.0, 0.1], abs=1e-9)
    assert np.isnan(valeurs[4])


def test_anomalie_ignore_les_cellules_sans_valeur(parcelles, grille):
    anomalie, transformation = grille
    anomalie = anomalie.copy()
    anomalie[:, :5] = np.nan
    assert calculer_anomalie_parcelles(parcelles, anomalie, transformation)[0] == pytest.approx(0.7)  # col. 5-9


def test_score_a_la_main(parcelles, occupation, grille):
    anomalie, transformation = grille
    t = calculer_priorites(parcelles, occupation, anomalie=anomalie, transformation=transformation,
                           parcelles_publiques=[P1], parametres=PARAMETRES,
                           parametres_priorites=REGLAGES).set_index("id")
    # P1 : 0,4 × min(1, 1 500/2 000) + 0,2 × 0,19 + 0,3 × 0,45/3 + 0,1 × 1 = 0,483
    assert t.loc[P1, "score_priorite"] == pytest.approx(48.3, abs=1e-6)
    # P2 : 0,4 × 0,75 + 0,2 × 0,15 + 0,3 × 1,45/3 + 0 = 0,475
    assert t.loc[P2, "score_priorite"] == pytest.approx(47.5, abs=1e-6)
    assert t.loc[P1, "part_impermeable_parcelle"] == pytest.approx(19, abs=1e-6)
    assert t.loc[P1, "proprietaire_public"] and not t.loc[P2, "proprietaire_public"]
    # P5 hors grille : chaleur inconnue, poids renormalisés sur surface, part et public (0)
    assert np.isnan(t.loc[P5, "anomalie_chaleur_parcelle"])
    assert t.loc[P5, "score_priorite"] == pytest.approx(0.0)


def test_score_sans_chaleur_ni_proprietes(parcelles, occupation):
    t = calculer_priorites(parcelles, occupation, parametres=PARAMETRES, parametres_priorites=REGLAGES)
    t = t.set_index("id")
    # seules surface et part sont connues : (0,4 × 0,75 + 0,2 × 0,19) / 0,6
    assert t.loc[P1, "score_priorite"] == pytest.approx(100 * 0.338 / 0.6, abs=1e-6)
    assert t["proprietaire_public"].isna().all()


def test_score_composantes_inconnues():
    composantes = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [0.0, 0.5, np.nan]})
    assert calculer_score_priorite(composantes, {"a": 3.0, "b": 1.0})[:2] == pytest.approx([75.0, 50.0])
    assert np.isnan(calculer_score_priorite(composantes, {"a": 3.0, "b": 1.0})[2])


def test_classement_par_commune(parcelles, occupation, grille):
    anomalie, transformation = grille
    operations = pd.DataFrame({"parcelles": [[P3], []]})
    t = calculer_priorites(parcelles, occupation, anomalie=anomalie, transformation=transformation,
                           parcelles_publiques=[P1], operations=operations, parametres=PARAMETRES,
                           parametres_priorites=REGLAGES)
    # candidates : ≥ 100 m² imperméables non bâtis et pas déjà traitées (P3 est citée par une opération)
    assert t.set_index("id").loc[P3, "deja_traitee"]
    assert list(t.loc[t["parcelle_candidate"], "id"]) == [P1, P2]
    assert t["rang_priorite"].tolist()[:2] == [1, 2] and t["rang_priorite"].iloc[2:].isna().all()
    top = classer_parcelles(t, "34301", nombre=1)
    assert list(top["id"]) == [P1]
    assert classer_parcelles(t, "34003").empty


def test_parametres_de_priorite():
    reglages = lire_parametres_priorites()
    assert {"poids_surface_non_batie", "poids_chaleur", "surface_reference_m2",
            "tolerance_contact_m"} <= set(reglages)
    with pytest.raises(ErreurDonnees, match="inconnu"):
        lire_parametres_priorites({"poids_inconnu": 1})
    with pytest.raises(ErreurDonnees, match="bornes"):
        lire_parametres_priorites({"poids_chaleur": 5})


def test_erreurs_explicites(parcelles, grille):
    with pytest.raises(ErreurDonnees, match="occupation"):
        calculer_priorites(parcelles)
    with pytest.raises(ErreurDonnees, match="transformation"):
        calculer_priorites(parcelles, impermeabilite=pd.DataFrame(
            {"id": [], "code_insee": [], "surface_parcelle": [], "surface_impermeable_parcelle": [],
             "surface_impermeable_non_batie_parcelle": []}), anomalie=grille[0])


def test_entrees_jamais_modifiees(parcelles, occupation, grille):
    anomalie, transformation = grille
    operations = pd.DataFrame({"parcelles": [[P3]]})
    avant = copy.deepcopy((parcelles, occupation, anomalie, operations))
    calculer_priorites(parcelles, occupation, anomalie=anomalie, transformation=transformation,
                       operations=operations, parametres=PARAMETRES)
    pd.testing.assert_frame_equal(parcelles, avant[0])
    pd.testing.assert_frame_equal(occupation, avant[1])
    np.testing.assert_array_equal(anomalie, avant[2])
    pd.testing.assert_frame_equal(operations, avant[3])
