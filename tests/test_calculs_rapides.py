"""Calculs rapides du modèle de chaleur (issue 12, point 7) : chacun rend le même résultat que le calcul
direct qu'il remplace (convolution directe, comptage cellule par cellule, rastérisation GDAL, reclassement
par recherche)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from rasterio import features
from scipy.signal import convolve2d
from shapely.geometry import Polygon, box

from donnees.erreurs import ErreurDonnees
from indicateurs import chaleur as ch
from indicateurs import grille as gr
from indicateurs.modeles import positionner_lucodes, reclasser_colonnes


@pytest.mark.parametrize("forme, rayon", [((40, 53), 6.0), ((7, 5), 9.0), ((1, 30), 2.5)])
def test_convolution_fft_egale_convolution_directe(forme, rayon):
    """Grilles plus petites que le noyau comprises (le noyau ne doit pas être tronqué)."""
    rng = np.random.default_rng(4)
    valide = rng.random(forme) > 0.3
    signal = rng.random(forme)
    noyau = ch.construire_noyau_exponentiel(rayon / 3, rayon)
    attendu = convolve2d(signal * valide, noyau, mode="same") / convolve2d(valide * 1.0, noyau, mode="same")
    attendu = np.where(valide, attendu * noyau.sum(dtype=np.float64), np.nan)
    calcule = ch.ConvolueurFFT(valide).convoluer(signal, "k", noyau, np.float64)
    np.testing.assert_allclose(calcule, attendu, rtol=1e-10, atol=1e-12)
    assert np.array_equal(np.isnan(calcule), ~valide)


def test_somme_dans_disque_exacte():
    rng = np.random.default_rng(5)
    valeurs = (rng.random((37, 61)) > 0.5).astype(np.uint8)
    for rayon in (0.0, 1.0, 3.7, 10.0):
        noyau = gr.construire_noyau_disque(rayon)
        attendu = np.rint(convolve2d(valeurs, noyau, mode="same")).astype(np.int64)
        assert np.array_equal(gr.sommer_dans_disque(valeurs, rayon), attendu)


def test_cellules_des_geometries_comme_gdal():
    """Centres (petites et grandes fenêtres) et cellules touchées des géométries sans centre, comme la
    rastérisation GDAL géométrie par géométrie."""
    grille = gr.Grille(700000.0, 6250300.0, 10.0, 40, 30)
    x0, y1 = grille.x_min, grille.y_max
    geometries = np.array([
        box(x0 + 12, y1 - 58, x0 + 77, y1 - 13),  # rectangle décalé
        Polygon([(x0 + 100, y1 - 20), (x0 + 180, y1 - 60), (x0 + 120, y1 - 150)]),  # triangle
        box(x0 + 201, y1 - 104, x0 + 204, y1 - 101),  # trop petite pour un centre : cellules touchées
        box(x0 - 30, y1 - 40, x0 + 15, y1 + 20),  # déborde de la grille
        box(x0 + 1000, y1 + 1000, x0 + 1010, y1 + 1010),  # hors grille
        shapely.buffer(shapely.Point(x0 + 250, y1 - 200), 55.0),
    ], dtype=object)
    gr._CELLULES_GEOMETRIES.clear()
    numeros, cellules = gr.indexer_cellules_geometries(geometries, grille)
    for i, geometrie in enumerate(geometries):
        fenetre = features.rasterize([(geometrie, 1)], out_shape=grille.forme, transform=grille.transform)
        if not fenetre.any():
            fenetre = features.rasterize([(geometrie, 1)], out_shape=grille.forme, transform=grille.transform,
                                         all_touched=True)
        assert cellules[numeros == i].tolist() == np.flatnonzero(fenetre.ravel()).tolist(), i
    assert (numeros == 2).sum() == 1 and not (numeros == 4).any()


def test_rasterisation_identique_a_rasterio():
    grille = gr.Grille(700000.0, 6250300.0, 10.0, 40, 30)
    rng = np.random.default_rng(6)
    centres = rng.random((60, 2)) * [400, 300] + [grille.x_min, grille.y_max - 300]
    geometries = shapely.buffer(shapely.points(centres), rng.random(60) * 40 + 3)
    geometries[5] = shapely.union(geometries[5], box(grille.x_min, grille.y_max - 50, grille.x_min + 50,
                                                     grille.y_max))  # multipolygone ou polygone à trou
    valeurs = np.arange(1, 61, dtype=np.uint8)
    attendu = features.rasterize(list(zip(geometries, valeurs.tolist())), out_shape=grille.forme,
                                 transform=grille.transform, dtype="uint8")
    assert np.array_equal(gr.rasteriser_valeurs(geometries, valeurs, grille), attendu)


def test_reclassement_en_une_passe():
    table = pd.DataFrame({"kc": [0.1, 0.5, 0.9], "shade": [0.0, 0.3, 1.0]}, index=pd.Index([3, 10, 250],
                                                                                           name="lucode"))
    valeurs = np.array([[3, 10, 250], [0, 10, 3]], dtype=np.int32)
    valide = valeurs != 0
    grilles = reclasser_colonnes(valeurs, valide, table, ("kc", "shade"), "occ.tif", "table.csv")
    np.testing.assert_array_equal(grilles["kc"], np.float32([[0.1, 0.5, 0.9], [np.nan, 0.5, 0.1]]))
    np.testing.assert_array_equal(grilles["shade"], np.float32([[0.0, 0.3, 1.0], [np.nan, 0.3, 0.0]]))
    flottants = positionner_lucodes(valeurs.astype(np.float32), valide, table, "occ.tif", "table.csv")
    assert flottants.tolist() == [[0, 1, 2], [3, 1, 0]]
    with pytest.raises(ErreurDonnees, match=r"lucode\(s\) 7, 99 absent"):
        positionner_lucodes(np.array([[7, 3, 99]]), np.ones((1, 3), bool), table, "occ.tif", "table.csv")
