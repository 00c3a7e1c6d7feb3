"""Mesures (make bench) des indicateurs vectoriels à la taille complète de la démonstration.

Budgets (CONCEPTION §7 et cahier des indicateurs) :
- surfaces, eau, finances et trajectoire pour toutes les communes, couches chargées : médiane de 5 ≤ 1 s ;
- priorités pour toutes les parcelles (intersection parcelles × occupation + anomalie de chaleur sur une
  grille de 10 m) : médiane ≤ 20 s.
La grille d'anomalie est synthétique (le modèle de chaleur est mesuré ailleurs). Le territoire est généré
dans un dossier temporaire, ou lu dans ``$DESIMPER_DEMO_COMPLETE`` s'il y en a déjà un.
Les médianes sont écrites dans tests/sorties/bench_indicateurs.json.
"""

import statistics
import time

import numpy as np
import pytest
import shapely
from affine import Affine

from donnees.config import url_base
from donnees.magasin import Magasin
from donnees.referentiel import lire_couche
from indicateurs.calcul import (
    calculer_indicateurs_annees,
    calculer_indicateurs_communes,
    calculer_indicateurs_operations,
)
from indicateurs.communs import Filtres
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.parametres import lire_parametres
from indicateurs.priorites import calculer_priorites
from indicateurs.surfaces import calculer_surface_impermeable_communes
from outils import enregistrer_mesure

RESOLUTION_M = 10.0


def _enregistrer(cle: str, valeur) -> None:
    enregistrer_mesure("bench_indicateurs.json", cle, valeur)


def _mediane(fonction, repetitions: int) -> float:
    durees = []
    for _ in range(repetitions):
        debut = time.perf_counter()
        fonction()
        durees.append(time.perf_counter() - debut)
    return statistics.median(durees)


@pytest.fixture(scope="module")
def couches(demo_complete):
    dossier = demo_complete
    magasin = Magasin(url_base(dossier))
    donnees = {"operations": magasin.lire_operations(), "zones": magasin.lire_zones(),
               "financements": magasin.lire_financements()}
    for nom in ("communes", "objectifs", "nouvelles_surfaces", "occupation", "parcelles"):
        donnees[nom] = lire_couche(nom, dossier)
    return donnees


def test_indicateurs_toutes_communes_en_moins_d_une_seconde(couches):
    debut = time.perf_counter()
    impermeables = calculer_surface_impermeable_communes(couches["occupation"])
    _enregistrer("surface_impermeable_communes_s", round(time.perf_counter() - debut, 3))
    parametres = lire_parametres()
    filtres = Filtres(statuts=["realisee"], validations=["validee"])
    entrees = (couches["operations"], couches["zones"], couches["financements"])

    def calculer():
        calculer_indicateurs_operations(*entrees, parametres, filtres)
        communes = calculer_indicateurs_communes(*entrees, couches["communes"], impermeables, couches["objectifs"],
                                                 couches["nouvelles_surfaces"], parametres, filtres)
        calculer_indicateurs_annees(*entrees, couches["communes"], couches["objectifs"],
                                    couches["nouvelles_surfaces"], parametres, filtres)
        calculer_aides_par_financeur(couches["operations"], couches["financements"], filtres)
        return communes

    assert len(calculer()) == len(couches["communes"]) + 1
    mediane = _mediane(calculer, 5)
    _enregistrer("indicateurs_toutes_communes_mediane_s", round(mediane, 3))
    _enregistrer("indicateurs_volumes", {"operations": len(couches["operations"]), "zones": len(couches["zones"])})
    assert mediane <= 1.0


def test_priorites_toutes_parcelles_en_moins_de_20_secondes(couches):
    parcelles, occupation = couches["parcelles"], couches["occupation"]
    xmin, ymin, xmax, ymax = shapely.total_bounds(parcelles.geometry.to_crs(2154).values)
    largeur = int(np.ceil((xmax - xmin) / RESOLUTION_M))
    hauteur = int(np.ceil((ymax - ymin) / RESOLUTION_M))
    anomalie = np.random.default_rng(0).normal(1.5, 0.8, (hauteur, largeur))
    transformation = Affine(RESOLUTION_M, 0, xmin, 0, -RESOLUTION_M, ymax)

    def calculer():
        return calculer_priorites(parcelles, occupation, anomalie=anomalie, transformation=transformation,
                                  operations=couches["operations"])

    resultat = calculer()
    assert len(resultat) == len(parcelles) and resultat["parcelle_candidate"].any()
    mediane = _mediane(calculer, 3)
    _enregistrer("priorites_toutes_parcelles_mediane_s", round(mediane, 2))
    _enregistrer("priorites_volumes", {"parcelles": len(parcelles), "occupation": len(occupation),
                                       "grille": [hauteur, largeur]})
    assert mediane <= 20
