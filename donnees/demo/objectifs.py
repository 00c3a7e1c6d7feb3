"""Objectifs de désimperméabilisation et nouvelles surfaces imperméabilisées de la démonstration."""

from __future__ import annotations

import numpy as np
import pandas as pd


def generer_objectifs(codes_insee: np.ndarray, population: np.ndarray, parametres: dict, taille: dict) -> pd.DataFrame:
    """Objectifs cumulés de désimperméabilisation : bassin linéaire, communes au prorata de la population."""
    po = parametres["objectifs"]
    premiere, derniere = po["annees"]
    annees = np.arange(premiere, derniere + 1)
    reference = po["annee_reference"]
    bassin = taille["objectif_bassin_m2"] * (annees - (premiere - 1)) / (reference - (premiere - 1))
    lignes = [pd.DataFrame({"territoire": "bassin", "annee": annees, "surface_m2": np.round(bassin, 0)})]
    part = population / population.sum()
    for code, p in zip(codes_insee, part):
        lignes.append(pd.DataFrame({"territoire": code, "annee": annees, "surface_m2": np.round(bassin * p, 0)}))
    return pd.concat(lignes, ignore_index=True)


def generer_nouvelles_surfaces(codes_insee: np.ndarray, population: np.ndarray, desimpermeabilise: np.ndarray,
                               parametres: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Surfaces nouvellement imperméabilisées par commune et par an.

    Chaque commune reçoit un ratio de compensation SDAGE visé (log-normal autour de 1,5) : le total
    imperméabilisé est la surface désimperméabilisée divisée par ce ratio, avec un plancher par habitant,
    réparti sur les années avec une variation aléatoire.
    """
    pn = parametres["nouvelles_surfaces"]
    premiere, derniere = pn["annees"]
    annees = np.arange(premiere, derniere + 1)
    ratio = pn["ratio_sdage_median"] * np.exp(pn["ratio_sdage_sigma"] * rng.standard_normal(len(codes_insee)))
    annuel = np.maximum(desimpermeabilise / ratio / len(annees), population * pn["m2_par_habitant_min"])
    variation = rng.uniform(*pn["variation_annuelle"], (len(codes_insee), len(annees)))
    variation /= variation.mean(axis=1, keepdims=True)
    surfaces = np.round(annuel[:, None] * variation, 0)
    return pd.DataFrame({
        "code_insee": np.repeat(codes_insee, len(annees)),
        "annee": np.tile(annees, len(codes_insee)),
        "surface_m2": surfaces.ravel(),
        "source": parametres["territoire"]["source_nouvelles_surfaces"],
    })
