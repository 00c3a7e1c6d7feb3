"""Villes pairs : ratios par habitant et par hectare imperméable, choix des communes voisines."""

import pandas as pd
import pytest

from indicateurs.catalogue import lire_catalogue
from indicateurs.comparaison import calculer_ratios_communes, choisir_villes_pairs


def table_test() -> pd.DataFrame:
    return pd.DataFrame({
        "territoire": ["A", "B", "C", "D", "bassin"],
        "nom": ["Alpha", "Beta", "Gamma", "Delta", "Ensemble du bassin"],
        "surface_desimpermeabilisee": [1000.0, 500.0, 0.0, 300.0, 1800.0],
        "surface_impermeable": [200_000.0, 50_000.0, 10_000.0, 0.0, 260_000.0],
        "taux_impermeabilisation": [20.0, 12.0, 5.0, 13.0, 15.0],
    })


def test_ratios_par_habitant_et_par_hectare():
    populations = pd.Series({"A": 10_000, "B": 2_000, "C": 500, "D": 9_000})
    entree = table_test()
    copie = entree.copy()
    table = calculer_ratios_communes(entree, populations).set_index("territoire")
    pd.testing.assert_frame_equal(entree, copie)
    assert table.loc["A", "surface_desimpermeabilisee_par_habitant"] == pytest.approx(0.1)
    assert table.loc["A", "surface_desimpermeabilisee_par_ha_impermeable"] == pytest.approx(50.0)
    assert pd.isna(table.loc["D", "surface_desimpermeabilisee_par_ha_impermeable"])  # division par zéro
    assert table.loc["bassin", "population"] == 21_500
    codes = set(lire_catalogue().index)
    assert {"population", "surface_desimpermeabilisee_par_habitant",
            "surface_desimpermeabilisee_par_ha_impermeable"} <= codes


def test_villes_pairs_par_population_et_impermeabilisation():
    table = calculer_ratios_communes(table_test(), pd.Series({"A": 10_000, "B": 2_000, "C": 500, "D": 9_000}))
    pairs = choisir_villes_pairs(table, "A", "population", nombre=2)
    assert list(pairs["territoire"]) == ["A", "D", "B"]
    assert pairs["est_commune"].tolist() == [True, False, False]
    pairs = choisir_villes_pairs(table, "B", "impermeabilisation", nombre=1)
    assert list(pairs["territoire"]) == ["B", "D"]
    assert choisir_villes_pairs(table, "Z").empty
