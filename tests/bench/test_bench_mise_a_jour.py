"""Banc (make bench) : validation d'une opération → Vue d'ensemble à jour, à la taille « complète » de la démo.

Ce qui est chronométré après chaque écriture dans le magasin (une validation) : ce que fait la page Vue
d'ensemble quand la révision du magasin change — relecture du registre, modèles chaleur (3 scénarios) et eau
(:func:`services.modeles.calculer_modeles_territoire`) et indicateurs par commune
(:func:`services.indicateurs.assembler_indicateurs_communes`) ; référentiel déjà en cache, comme dans la page.

- « incrémental » : chemin normal, le dernier résultat en mémoire est mis à jour autour de l'opération
  validée (:mod:`indicateurs.mise_a_jour`) ; médiane de ``VALIDATIONS`` validations, budget ≤ 3 s ;
- « complet » : même chaîne sans mise à jour incrémentale ni cache (ce que faisait la page avant), mesuré
  dans le même passage, sur la même machine, après une autre validation.

Le banc imprime médiane, durées, ratio, et les écrit dans tests/sorties/bench_mise_a_jour.json.
"""

from __future__ import annotations

import shutil
import statistics
import time

import pytest

from donnees.config import url_base
from donnees.magasin import Magasin
from indicateurs import chaleur as ch
from indicateurs.parametres import lire_parametres
from outils import enregistrer_mesure
from services import indicateurs
from services.magasin import lire_registre
from services.modeles import attendre_ecritures_cache, calculer_modeles_territoire
from donnees.referentiel import lire_territoire

BUDGET_S = 3.0
VALIDATIONS = 5


@pytest.fixture(scope="module")
def demo_ecrivable(demo_complete, tmp_path_factory):
    """Copie de la démonstration complète (le banc écrit dans le magasin), cache de grille compris."""
    copie = tmp_path_factory.mktemp("bench_mise_a_jour") / "demo"
    shutil.copytree(demo_complete, copie, ignore=shutil.ignore_patterns("chaleur_*.npz", "photos"))
    return copie


def _valider_une(magasin: Magasin) -> int:
    operations = magasin.lire_operations()
    attente = operations[(operations["validation"] != "validee") & ~operations["supprimee"].astype(bool)
                         & (operations["nb_zones"] > 0) & ~operations["localisation_approximative"].astype(bool)]
    ligne = attente.iloc[0]
    magasin.modifier_operation(int(ligne["operation_id"]), int(ligne["version"]), {"validation": "validee"},
                               "bench@desimper.fr")
    return int(ligne["operation_id"])


def _vue_ensemble(dossier, referentiel, parametres, incremental: bool):
    """Chaîne de la page après une écriture : registre, modèles, indicateurs par commune."""
    operations, zones, financements = lire_registre(dossier)
    modeles = calculer_modeles_territoire(dossier, cache_disque=incremental, incremental=incremental,
                                          registre=(operations, zones))
    return indicateurs.assembler_indicateurs_communes(operations, zones, financements, referentiel, parametres,
                                                      None, modeles), modeles


def test_validation_vers_vue_ensemble(demo_ecrivable):
    dossier = demo_ecrivable
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    referentiel = indicateurs.lire_referentiel_indicateurs(dossier)
    magasin = Magasin(url_base(dossier))
    ch.vider_cache_memoire()
    _vue_ensemble(dossier, referentiel, parametres, incremental=True)  # démarrage : calcul complet, en mémoire

    _valider_une(magasin)
    debut = time.perf_counter()
    _, complet = _vue_ensemble(dossier, referentiel, parametres, incremental=False)
    duree_complete = time.perf_counter() - debut
    assert "mise_a_jour" not in complet.chaleur.meta

    durees, details = [], []
    for _ in range(VALIDATIONS):
        operation = _valider_une(magasin)
        debut = time.perf_counter()
        table, modeles = _vue_ensemble(dossier, referentiel, parametres, incremental=True)
        durees.append(time.perf_counter() - debut)
        assert "mise_a_jour" in modeles.chaleur.meta, "la mise à jour incrémentale n'a pas servi"
        assert operation in set(modeles.chaleur.operations["operation_id"])
        details.append(round(modeles.chaleur.meta["mise_a_jour"]["duree_s"], 2))
        attendre_ecritures_cache()  # écriture disque en arrière-plan, hors mesure (pas deux validations par seconde)
    mediane = statistics.median(durees)
    grille = modeles.occupation.grille
    mesures = {
        "demo": "complete (graine 42)",
        "grille": f"{grille.hauteur} × {grille.largeur} cellules de {grille.resolution:g} m",
        "incremental_mediane_s": round(mediane, 2), "incremental_durees_s": [round(d, 2) for d in durees],
        "dont_mise_a_jour_grilles_s": details,
        "complet_s": round(duree_complete, 2), "ratio_complet_sur_incremental": round(duree_complete / mediane, 1),
        "budget_s": BUDGET_S,
    }
    enregistrer_mesure("bench_mise_a_jour.json", "validation_vers_vue_ensemble", mesures)
    print(f"\nValidation → Vue d'ensemble à jour ({mesures['grille']}) : incrémental médiane {mediane:.2f} s "
          f"{mesures['incremental_durees_s']} ; recalcul complet {duree_complete:.1f} s ; "
          f"ratio {duree_complete / mediane:.0f}×")
    assert len(table) == len(referentiel.communes) + 1
    assert mediane <= BUDGET_S, f"médiane {mediane:.2f} s au-delà de {BUDGET_S} s"
