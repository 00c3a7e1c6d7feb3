"""Banc du registre (issue 14, point 4) : démarrage à froid jusqu'à la première page à 1 000, 10 000 et 50 000
opérations, et lecture des agrégats par la base contre lecture complète du registre.

Registres : la démonstration complète (graine 42, 1 000 opérations) et deux grands registres tirés d'elle
(:func:`grand_registre.construire_grand_registre`). Avant de mesurer, les modèles chaleur et eau sont mis en cache
disque et les estimations de rafraîchissement par site calculées (« modèles en cache ») : ces durées de
préparation sont rapportées à part.

Démarrage à froid : un nouveau processus serveur (`desimper serveur`), puis la première vue de la page par défaut
(Vue d'ensemble, visiteur) par le client websocket de tests/client_streamlit.py, jusqu'à ``script_finished`` ;
médiane de ``PASSAGES`` serveurs (un seul passage à 50 000 si ``DESIMPER_BANC_RAPIDE`` est posée). Lecture : dans
un processus neuf, agrégats du registre (:func:`services.magasin.lire_agregats`) contre
``lire_operations`` + ``lire_zones`` + ``lire_financements``, médiane de 3. Chiffres dans
tests/sorties/bench_registre.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client_streamlit import ClientStreamlit, executer, lire_cookies_http
from grand_registre import construire_grand_registre
from outils import arreter_serveur, enregistrer_mesure, lancer_serveur

RACINE = Path(__file__).resolve().parents[2]
# Tailles mesurées : toutes par défaut ; ``DESIMPER_BANC_TAILLES=1000,10000`` pour n'en garder que certaines.
TAILLES = [int(t) for t in os.environ.get("DESIMPER_BANC_TAILLES", "1000,10000,50000").split(",") if t.strip()]
PASSAGES = 3
BUDGET_DEMARRAGE_50K_S = 5.0  # issue 14 : démarrage à froid ≤ 5 s à 50 000 opérations, modèles en cache
SCRIPT_LECTURE = """
import json, statistics, sys, time
from donnees.comptes import VISITEUR, Utilisateur
from donnees.magasin import Magasin
from indicateurs.parametres import lire_parametres
from donnees.referentiel import lire_territoire
from pathlib import Path
from services.magasin import lire_agregats
dossier = Path(sys.argv[1])
magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
def mesurer(fonction):
    durees = []
    for _ in range(3):
        debut = time.perf_counter(); fonction(); durees.append(time.perf_counter() - debut)
    return round(statistics.median(durees), 3)
mesures = {
    "agregats_visiteur_s": mesurer(lambda: lire_agregats(magasin, VISITEUR, parametres)),
    "agregats_administrateur_s": mesurer(
        lambda: lire_agregats(magasin, Utilisateur("a@b.fr", "A", "administrateur"), parametres)),
    "registre_complet_s": mesurer(lambda: (magasin.lire_operations(), magasin.lire_zones(),
                                           magasin.lire_financements())),
    "registre_modeles_s": mesurer(magasin.lire_registre_modeles),
}
print(json.dumps(mesures))
"""
SCRIPT_PREPARATION = """
import json, sys, time
from pathlib import Path
from donnees.referentiel import lire_territoire
from indicateurs.parametres import lire_parametres
from services.indicateurs import calculer_indicateurs_territoire
from services.magasin import mettre_a_jour_estimations_site, ouvrir_magasin
from services.modeles import attendre_ecritures_cache
if __name__ == "__main__":
    dossier = Path(sys.argv[1])
    debut = time.perf_counter()
    with ouvrir_magasin(dossier) as magasin:  # écrit dans la base : avant ce qui garde la signature de la base
        mettre_a_jour_estimations_site(magasin, lire_parametres(lire_territoire(dossier).get("parametres")))
    estimations = time.perf_counter() - debut
    debut = time.perf_counter()
    # Ce que fait `desimper indicateurs` après un import : modèles chaleur et eau, sommes aux abords, zones des
    # modèles, tous gardés sur disque (« modèles en cache » du budget de démarrage).
    calculer_indicateurs_territoire(dossier)
    attendre_ecritures_cache()
    print(json.dumps({"modeles_s": round(time.perf_counter() - debut, 1), "estimations_site_s": round(estimations, 1)}))
"""


def _python(script: str, *arguments: str) -> dict:
    """Lance ``script`` dans un processus Python neuf (imports et caches à froid) ; renvoie son JSON."""
    environnement = dict(os.environ, PYTHONPATH=str(RACINE))
    environnement.pop("DESIMPER_BASE_URL", None)
    sortie = subprocess.run([sys.executable, "-c", script, *arguments], cwd=RACINE, env=environnement,
                            capture_output=True, text=True, timeout=3600, check=True)
    return json.loads(sortie.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def registres(demo_complete, tmp_path_factory) -> dict[int, Path]:
    """Dossier de données par taille, modèles et estimations par site en cache ; durées de préparation
    enregistrées."""
    dossiers = {}
    for nombre in TAILLES:
        cible = tmp_path_factory.mktemp(f"registre_{nombre}")
        generation = construire_grand_registre(demo_complete, cible, nombre=nombre, graine=3)
        preparation = _python(SCRIPT_PREPARATION, str(cible))
        enregistrer_mesure("bench_registre.json", f"preparation_{nombre}", {**generation, **preparation})
        dossiers[nombre] = cible
    return dossiers


async def _premiere_vue(url: str):
    async with ClientStreamlit(url, lire_cookies_http(url), delai_s=900) as onglet:
        return await onglet.ouvrir("")


def _demarrage_a_froid(dossier: Path, journal: Path) -> tuple[float, float]:
    """(durée jusqu'à la fin de la première vue depuis le lancement du processus, durée de la seule vue)."""
    debut = time.perf_counter()
    processus, fichier, url = lancer_serveur(dossier, journal)
    try:
        vue = executer(_premiere_vue(url))
    finally:
        arreter_serveur(processus, fichier)
    assert not vue.en_erreur, (vue.statut, vue.exceptions, vue.alertes_erreur)
    assert vue.contient("Vue d'ensemble")
    return time.perf_counter() - debut, vue.duree_s


@pytest.mark.parametrize("nombre", TAILLES)
def test_demarrage_a_froid_et_lecture_du_registre(registres, nombre, tmp_path):
    dossier = registres[nombre]
    lecture = _python(SCRIPT_LECTURE, str(dossier))
    passages = 1 if nombre >= 50_000 and os.environ.get("DESIMPER_BANC_RAPIDE") else PASSAGES
    mesures = [_demarrage_a_froid(dossier, tmp_path / f"serveur_{i}.log") for i in range(passages)]
    resultat = {
        "operations": nombre,
        "demarrage_premiere_page_mediane_s": round(statistics.median(m[0] for m in mesures), 2),
        "premiere_vue_mediane_s": round(statistics.median(m[1] for m in mesures), 2),
        "demarrages_s": [round(m[0], 2) for m in mesures],
        **lecture,
    }
    enregistrer_mesure("bench_registre.json", f"registre_{nombre}", resultat)
    assert lecture["agregats_visiteur_s"] < lecture["registre_complet_s"]
    if nombre == 50_000:
        # Budget de l'issue : rapporté ici, vérifié seulement quand la carte ne lit plus chaque opération.
        resultat["budget_5s_tenu"] = resultat["demarrage_premiere_page_mediane_s"] <= BUDGET_DEMARRAGE_50K_S
        enregistrer_mesure("bench_registre.json", f"registre_{nombre}", resultat)
