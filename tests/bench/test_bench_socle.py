"""Mesures (make bench) : génération de la démonstration complète et poids de la carte du bassin.

Budgets : `desimper demo --taille complete` < 3 min sur 2 cœurs ; HTML de la carte du bassin ≤ 2 Mo.
Les chiffres sont écrits dans tests/sorties/bench_socle.json.
"""

import time

import pytest

from donnees.config import url_base
from donnees.demo import generer_demo
from donnees.magasin import Magasin
from donnees.referentiel import lire_couche
from outils import enregistrer_mesure
from vues.cartes import construire_carte_bassin



@pytest.fixture(scope="module")
def demo_complete(tmp_path_factory):
    dossier = tmp_path_factory.mktemp("demo_complete")
    debut = time.perf_counter()
    resume = generer_demo(dossier, taille="complete", graine=42)
    return dossier, time.perf_counter() - debut, resume


def _enregistrer(cle: str, valeur) -> None:
    enregistrer_mesure("bench_socle.json", cle, valeur)


def test_demo_complete_en_moins_de_3_minutes(demo_complete):
    dossier, duree, resume = demo_complete
    _enregistrer("demo_complete_s", round(duree, 1))
    _enregistrer("demo_complete_resume", {k: v for k, v in resume.items() if isinstance(v, (int, float))})
    assert duree < 180
    assert len(lire_couche("parcelles", dossier, valider=False)) >= 150_000
    assert len(lire_couche("occupation", dossier, valider=False)) >= 300_000


def test_chargement_couches_a_froid(demo_complete):
    dossier = demo_complete[0]
    durees = []
    for _ in range(3):
        debut = time.perf_counter()
        for nom in ("communes", "parcelles", "occupation"):
            lire_couche(nom, dossier)
        durees.append(time.perf_counter() - debut)
    mediane = sorted(durees)[1]
    _enregistrer("chargement_couches_mediane_s", round(mediane, 2))
    assert mediane <= 5


def test_poids_carte_bassin(demo_complete):
    dossier = demo_complete[0]
    communes = lire_couche("communes_affichage", dossier)
    operations = Magasin(url_base(dossier)).lire_operations()
    html = construire_carte_bassin(communes, operations).get_root().render()
    taille_mo = len(html.encode("utf-8")) / 1e6
    _enregistrer("carte_bassin_mo", round(taille_mo, 3))
    assert taille_mo <= 2
