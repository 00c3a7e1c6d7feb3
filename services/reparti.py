"""Calcul réparti : client Dask (grappe locale par défaut, ordonnanceur existant quand il est configuré).

Aucun ordonnanceur ni réserve de processus maison : ``dask.distributed`` fait tout.

- ``DESIMPER_DASK_SCHEDULER`` (ou la clé ``dask.ordonnanceur`` de ``territoire.json``) : adresse d'un
  ordonnanceur existant (``tcp://hote:8786``) ; sinon une grappe locale ``LocalCluster`` est lancée ;
- ``DESIMPER_DASK_PROCESSUS`` (ou ``dask.processus``) : nombre de processus de la grappe locale (défaut 1) ;
- ``dask.memoire_par_processus`` : borne mémoire d'un processus local (défaut ``"3GB"``) ;
- ``dask.delai_connexion_s`` : attente de la réponse de l'ordonnanceur (défaut 10 s ; Dask réessaie jusque-là) ;
- ``dask.repli_local`` (défaut vrai) : si l'ordonnanceur configuré ne répond pas, repli sur une grappe locale
  (annoncé par ``rappel``) ; faux : message d'erreur en français, rien n'est calculé.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import types
from collections.abc import Callable, Iterator

from donnees.erreurs import ErreurDonnees

VARIABLE_ORDONNANCEUR = "DESIMPER_DASK_SCHEDULER"
VARIABLE_PROCESSUS = "DESIMPER_DASK_PROCESSUS"
DELAI_CONNEXION_S = 10
MEMOIRE_DEFAUT = "3GB"


def lire_reglages_dask(territoire: dict | None = None) -> dict:
    """Réglages du calcul réparti : variables d'environnement, sinon clé ``dask`` du territoire, sinon défauts."""
    declares = dict((territoire or {}).get("dask") or {})
    adresse = os.environ.get(VARIABLE_ORDONNANCEUR, "").strip() or declares.get("ordonnanceur") or None
    brut = os.environ.get(VARIABLE_PROCESSUS, "").strip() or declares.get("processus") or 1
    try:
        processus = int(brut)
    except (TypeError, ValueError):
        processus = 0
    if processus < 1:
        raise ErreurDonnees(f"Nombre de processus Dask invalide ({brut!r}) : donnez un entier ≥ 1 dans "
                            f"{VARIABLE_PROCESSUS} ou la clé dask.processus de territoire.json.", "territoire",
                            "dask.processus")
    return {"ordonnanceur": adresse, "processus": processus,
            "memoire_par_processus": declares.get("memoire_par_processus") or MEMOIRE_DEFAUT,
            "repli_local": bool(declares.get("repli_local", True)),
            "delai_connexion_s": float(declares.get("delai_connexion_s") or DELAI_CONNEXION_S)}


def _grappe_locale(processus: int, memoire: str):
    from distributed import LocalCluster

    # Tableau de bord sur un port libre (si bokeh est là). Journaux de Dask réduits aux erreurs critiques : à la
    # fermeture, un processus de calcul dont le battement de cœur croise l'arrêt de l'ordonnanceur journalise une
    # trace sans conséquence ; les vraies pannes remontent par le client (exception traduite en français).
    return LocalCluster(n_workers=processus, threads_per_worker=1, processes=True, memory_limit=memoire,
                        dashboard_address=":0", silence_logs=logging.CRITICAL)


def _neutraliser_module_principal():
    """Remplace le temps de la grappe le module ``__main__`` par un module vide, et rend l'ancien.

    Les processus de calcul sont lancés par *spawn*, qui réexécute le fichier du module ``__main__`` du parent :
    sous Streamlit (et AppTest), c'est le script de la page (``app.py``), qui ne doit pas tourner dans un
    processus de calcul. Un module sans fichier n'est pas réexécuté."""
    principal = sys.modules.get("__main__")
    if principal is None or getattr(principal, "__file__", None) is None:
        return None
    neutre = types.ModuleType("__main__")
    sys.modules["__main__"] = neutre
    return principal


@contextlib.contextmanager
def ouvrir_client(territoire: dict | None = None, processus: int | None = None,
                  rappel: Callable[[str], None] | None = None) -> Iterator:
    """Client ``distributed`` : ordonnanceur configuré, sinon grappe locale de ``processus`` processus.

    Ordonnanceur injoignable : repli local annoncé par ``rappel`` si ``dask.repli_local`` (défaut), sinon
    :class:`ErreurDonnees`. La grappe locale est arrêtée à la sortie du bloc."""
    from distributed import Client

    annoncer = rappel or (lambda texte: None)
    reglages = lire_reglages_dask(territoire)
    nombre = processus or reglages["processus"]
    adresse = reglages["ordonnanceur"]
    grappe = client = principal = None
    try:
        if adresse:
            try:
                client = Client(adresse, timeout=reglages["delai_connexion_s"])
                annoncer(f"Calcul sur l'ordonnanceur Dask {adresse} ({len(client.scheduler_info()['workers'])} "
                         "processus de calcul).")
            except (OSError, TimeoutError) as exc:
                if not reglages["repli_local"]:
                    raise ErreurDonnees(
                        f"L'ordonnanceur Dask {adresse} ne répond pas ({exc.__class__.__name__}). Vérifiez "
                        f"l'adresse ({VARIABLE_ORDONNANCEUR} ou dask.ordonnanceur de territoire.json) et que "
                        "l'ordonnanceur est lancé, ou autorisez le repli local (dask.repli_local).",
                        "territoire", "dask.ordonnanceur") from exc
                annoncer(f"L'ordonnanceur Dask {adresse} ne répond pas : calcul local sur {nombre} "
                         "processus à la place.")
                client = None
        if client is None:
            principal = _neutraliser_module_principal()
            grappe = _grappe_locale(nombre, reglages["memoire_par_processus"])
            client = Client(grappe)
            annoncer(f"Calcul local sur {nombre} processus Dask.")
        yield client
    finally:
        if principal is not None:
            sys.modules["__main__"] = principal
        if client is not None:
            client.close()
        if grappe is not None:
            grappe.close()
