"""Exécution du calcul en tuiles des grilles chaleur et eau (:mod:`indicateurs.tuiles`) et son cache disque.

- Sans client : planificateur local de Dask (fils) ; avec un client ``distributed``
  (:func:`services.reparti.ouvrir_client`) : les tuiles partent aux processus de la grappe.
- Progression : barre de Dask écrite dans ``flux`` (l'erreur standard de la ligne de commande), et lien du
  tableau de bord quand l'ordonnanceur en a un.
- Cache : ``cache/chaleur_<clé>_<scénario>.npy`` (T_air float32, écrit tuile par tuile dans un fichier caché
  puis renommé d'un coup) et ``cache/chaleur_<clé>.npz`` (tables par commune et par opération, comptes de
  l'eau), écrit **en dernier** : une archive présente garantit des grilles complètes. Un processus de calcul
  qui meurt : Dask relance ses tuiles sur un autre (``distributed.scheduler.allowed-failures``) ; au-delà,
  message français, fichiers partiels effacés, rien de publié.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import dask
import numpy as np
import pandas as pd

from donnees import cache_modeles
from donnees.erreurs import ErreurDonnees
from indicateurs.chaleur import ChaleurTerritoire, ParametresChaleur
from indicateurs.grille import OccupationGrille
from indicateurs.tuiles import preparer_chaleur_tuiles

PREFIXE = "chaleur"


def choisir_tuiles(occupation: OccupationGrille, parametres, reparti: bool = False,
                   processus: int | None = None) -> bool:
    """Calcul en tuiles si demandé (``reparti``, ``processus``) ou si la grille dépasse
    ``seuil_tuiles_cellules`` (``indicateurs/parametres/modele.csv``)."""
    cellules = occupation.grille.hauteur * occupation.grille.largeur
    return bool(reparti or processus) or cellules > parametres["seuil_tuiles_cellules"]


def suivre_progression(futures, flux) -> None:
    """Barre de progression de ``distributed`` (``TextProgressBar``, jusqu'à la fin du calcul) écrite dans
    ``flux`` au lieu de la sortie standard (réservée aux résultats : JSON, CSV)."""
    from distributed.diagnostics.progressbar import TextProgressBar

    class Barre(TextProgressBar):
        def _draw_bar(self, remaining, all, **kwargs):  # noqa: A002 - signature de distributed
            fraction = (1 - remaining / all) if all else 1.0
            flux.write(f"\r[{'#' * int(self.width * fraction):<{self.width}}] {int(100 * fraction)} % des "
                       f"tâches ({all - remaining}/{all})")
            flux.flush()

        def _draw_stop(self, **kwargs):
            flux.write("\n")
            flux.flush()

    Barre(futures)


def executer_graphe(a_calculer: list, client=None, flux=None) -> list:
    """Calcule les collections Dask ensemble : fils locaux sans ``client``, sinon la grappe ; progression
    dans ``flux``. Un processus de calcul perdu trop de fois : :class:`ErreurDonnees` en français."""
    if client is None:
        from dask.diagnostics import ProgressBar

        barre = ProgressBar(out=flux) if flux is not None else contextlib.nullcontext()
        with barre:
            return list(dask.compute(*a_calculer, scheduler="threads"))
    from distributed import KilledWorker

    if flux is not None and getattr(client, "dashboard_link", None) and _a_tableau_de_bord(client):
        flux.write(f"Tableau de bord Dask : {client.dashboard_link}\n")
    futures = client.compute(a_calculer)
    try:
        if flux is not None:
            suivre_progression(futures, flux)
        return client.gather(futures)
    except KilledWorker as exc:
        raise ErreurDonnees(
            "Un processus de calcul Dask s'est arrêté à plusieurs reprises pendant le calcul en tuiles "
            f"({exc.args[0] if exc.args else 'tâche inconnue'}) : rien n'a été enregistré. Vérifiez la mémoire "
            "des processus (dask.memoire_par_processus de territoire.json) ou réduisez taille_tuile_cellules, "
            "puis relancez.", "dask", "processus") from exc
    finally:
        client.cancel(futures)


def _a_tableau_de_bord(client) -> bool:
    try:
        return "dashboard" in client.scheduler_info().get("services", {})
    except (OSError, KeyError, AttributeError):
        return False


def _chemin_grille(dossier_cache: Path, cle: str, scenario: str) -> Path:
    return Path(dossier_cache) / f"{PREFIXE}_{cle}_{scenario}.npy"


def calculer_chaleur_tuiles(occupation: OccupationGrille, zones, p_chaleur: ParametresChaleur, taille_tuile: int,
                            cle: str, dossier_cache: Path | None = None, client=None, flux=None
                            ) -> ChaleurTerritoire:
    """Modèle de chaleur (3 scénarios) et comptes de l'eau en tuiles.

    ``dossier_cache`` : T_air écrites tuile par tuile dans ``<dossier_cache>/chaleur_<clé>_<scénario>.npy``
    (float32, relues en ``memmap``) et tables dans ``chaleur_<clé>.npz``, publiés seulement quand tout est
    calculé ; sans dossier : grilles T_air assemblées en mémoire (float64, petits territoires)."""
    scenarios = ("sans_operations", "realisees", "realisees_programmees")
    cibles = None
    if dossier_cache is not None:
        cibles = {nom: cache_modeles.CibleNpy(_chemin_grille(dossier_cache, cle, nom), occupation.grille.forme)
                  for nom in scenarios}
    try:
        if cibles:
            for cible in cibles.values():
                cible.creer()
        travail = preparer_chaleur_tuiles(occupation, zones, p_chaleur, taille_tuile, scenarios, cibles)
        assemble = travail.assembler(executer_graphe(travail.a_calculer, client, flux))
    except BaseException:
        for cible in (cibles or {}).values():
            cible.abandonner()
        raise
    meta = {"tuiles": travail.meta, "comptes_eau": assemble["comptes_eau"]}
    if cibles:
        t_air = {nom: np.load(cible.publier(), mmap_mode="r") for nom, cible in cibles.items()}
        _ecrire_tables(cache_modeles.chemin_cache(dossier_cache.parent, PREFIXE, cle), assemble, travail.meta)
        purger_grilles(dossier_cache)
    else:
        t_air = assemble["t_air"]
    return ChaleurTerritoire(occupation.grille, t_air, assemble["communes"], assemble["operations"], cle, p_chaleur,
                             meta)


def _ecrire_tables(chemin: Path, assemble: dict, meta: dict) -> None:
    """Archive des tables (écrite en dernier, d'un coup : elle marque des grilles complètes)."""
    comptes = {f"eau_{nom}": matrice for nom, matrice in assemble["comptes_eau"].items()}
    tables = {nom: np.array(assemble[nom].to_json(orient="split", double_precision=15))
              for nom in ("communes", "operations")}
    cache_modeles.ecrire_npz(chemin, tuiles=np.array([meta["taille_tuile"], *meta["tuiles"]]), **tables, **comptes)
    cache_modeles.purger_cache(chemin.parent, PREFIXE)


def relire_chaleur_tuiles(tableaux: dict, dossier_cache: Path, occupation: OccupationGrille,
                          p_chaleur: ParametresChaleur, cle: str) -> ChaleurTerritoire | None:
    """Résultat en tuiles relu du cache (grilles en ``memmap``), ou ``None`` s'il manque une grille."""
    scenarios = ("sans_operations", "realisees", "realisees_programmees")
    t_air = {nom: cache_modeles.lire_npy(_chemin_grille(dossier_cache, cle, nom), occupation.grille.forme)
             for nom in scenarios}
    if any(grille is None for grille in t_air.values()):
        return None
    comptes = {nom: tableaux[f"eau_{nom}"] for nom in scenarios}
    taille, *forme = (int(v) for v in tableaux["tuiles"])
    return ChaleurTerritoire(occupation.grille, t_air, _lire_table(tableaux, "communes"),
                             _lire_table(tableaux, "operations"), cle, p_chaleur,
                             {"tuiles": {"taille_tuile": taille, "tuiles": tuple(forme)}, "comptes_eau": comptes})


def _lire_table(tableaux: dict, nom: str) -> pd.DataFrame:
    """Table relue du JSON de l'archive ; les colonnes numériques des communes redeviennent des flottants (le
    JSON écrit 1200.0 comme 1200)."""
    table = pd.read_json(io.StringIO(str(tableaux[nom])), orient="split", dtype={"code_insee": str})
    if nom == "communes":
        numeriques = [c for c in table.columns if c not in ("code_insee", "scenario")]
        table[numeriques] = table[numeriques].astype(np.float64)
    return table


def purger_grilles(dossier_cache: Path) -> None:
    """Efface les grilles ``chaleur_<clé>_<scénario>.npy`` dont l'archive ``chaleur_<clé>.npz`` a été purgée."""
    gardees = {f.stem for f in Path(dossier_cache).glob(f"{PREFIXE}_*.npz")}
    for grille in Path(dossier_cache).glob(f"{PREFIXE}_*_*.npy"):
        if not any(grille.stem.startswith(f"{cle}_") for cle in gardees):
            grille.unlink(missing_ok=True)
