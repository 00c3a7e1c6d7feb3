"""Banc (make bench) du potentiel de désimperméabilisation (issue 15), démonstration complète graine 42.

- une commune (Sète, la plus grande : ~21 000 parcelles), modèles déjà chargés : médiane de ``PASSAGES`` passages
  de :func:`services.potentiel.calculer_potentiel_commune`, cible ≤ 2 s ;
- toutes les parcelles du bassin (~190 000) : :func:`services.potentiel.calculer_potentiel_territoire`, médiane,
  cible ≤ 20 s ;
- les îlots de Sète (:func:`services.potentiel.calculer_potentiel_ilots`), médiane.

Couches de critères : celles de la démonstration (synthétiques) si elle en a. Mesures écrites dans
tests/sorties/bench_potentiel.json.
"""

from __future__ import annotations

import os
import statistics
import time

from outils import enregistrer_mesure

from services.modeles import calculer_modeles_territoire
from services.potentiel import calculer_potentiel_commune, calculer_potentiel_ilots, calculer_potentiel_territoire

CODE_SETE = "34301"
PASSAGES = int(os.environ.get("DESIMPER_BANC_PASSAGES", "3"))
CIBLE_COMMUNE_S = 2.0
CIBLE_BASSIN_S = 20.0


def _mediane(fonction) -> tuple[float, object]:
    durees, resultat = [], None
    for _ in range(PASSAGES):
        debut = time.perf_counter()
        resultat = fonction()
        durees.append(time.perf_counter() - debut)
    return statistics.median(durees), resultat


def test_bench_potentiel(demo_complete):
    modeles = calculer_modeles_territoire(demo_complete)
    commune_s, potentiel = _mediane(lambda: calculer_potentiel_commune(CODE_SETE, demo_complete, modeles=modeles))
    ilots_s, ilots = _mediane(lambda: calculer_potentiel_ilots(CODE_SETE, potentiel, demo_complete))
    bassin_s, bassin = _mediane(lambda: calculer_potentiel_territoire(demo_complete, modeles=modeles))
    mesures = {"commune_parcelles": len(potentiel), "commune_mediane_s": round(commune_s, 3),
               "commune_ilots": len(ilots), "ilots_mediane_s": round(ilots_s, 3),
               "bassin_parcelles": len(bassin), "bassin_mediane_s": round(bassin_s, 3),
               "confiance": float(bassin["confiance_potentiel"].iloc[0]),
               "classes": bassin["classe_potentiel"].value_counts().to_dict(), "passages": PASSAGES}
    enregistrer_mesure("bench_potentiel.json", "potentiel", mesures)
    print(mesures)
    assert len(bassin) > 150_000
    assert commune_s <= CIBLE_COMMUNE_S, mesures
    assert bassin_s <= CIBLE_BASSIN_S, mesures
