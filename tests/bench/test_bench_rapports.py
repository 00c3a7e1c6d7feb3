"""Banc (make bench) du rapport PDF du bassin (issue 15, partie 3), démonstration complète graine 42 (copiée).

Mesures : premier rapport (modèles lus en cache, Chromium des graphiques démarré), médiane des suivants (cible
≤ 20 s) et taille du PDF (cible ≤ 10 Mo). Écrites dans tests/sorties/bench_rapports.json.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time

from outils import enregistrer_mesure

from donnees.comptes import Utilisateur
from services.rapports import DemandeRapport, produire_rapport

PASSAGES = int(os.environ.get("DESIMPER_BANC_PASSAGES", "3"))
CIBLE_S = 20.0
CIBLE_OCTETS = 10 * 1024 * 1024
ADMIN = Utilisateur("banc@desimper.fr", "Banc", "administrateur")


def test_bench_rapport_bassin(demo_complete, tmp_path):
    dossier = tmp_path / "demo"
    shutil.copytree(demo_complete, dossier, ignore=shutil.ignore_patterns("priorites"))
    demande = DemandeRapport("bassin", 2025)
    debut = time.perf_counter()
    pdf = produire_rapport(demande, ADMIN, dossier)
    premier_s = time.perf_counter() - debut
    durees = []
    for _ in range(PASSAGES):
        debut = time.perf_counter()
        pdf = produire_rapport(demande, ADMIN, dossier)
        durees.append(time.perf_counter() - debut)
    mesures = {"premier_s": round(premier_s, 2), "mediane_s": round(statistics.median(durees), 2),
               "durees_s": [round(d, 2) for d in durees], "octets": len(pdf)}
    enregistrer_mesure("bench_rapports.json", "rapport_bassin", mesures)
    print(mesures)
    assert mesures["mediane_s"] <= CIBLE_S, mesures
    assert len(pdf) <= CIBLE_OCTETS, mesures
