"""Modèles chaleur et eau : fichiers InVEST (lecture → calcul → écriture) et territoire du projet avec cache.

- Mode « InVEST » : :func:`executer_chaleur_invest`, :func:`executer_eau_invest` lisent les fichiers
  (:mod:`donnees.rasters`), calculent (:mod:`indicateurs.modeles`) et écrivent GeoTIFF et CSV.
- Territoire du projet : couches ``occupation`` et ``communes`` du dossier de données, zones du magasin ;
  grille rastérisée et résultats du modèle de chaleur gardés en mémoire et dans ``<dossier>/cache/``
  (:mod:`donnees.cache_modeles`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.warp import Resampling, transform_bounds

from donnees import cache_modeles
from donnees.config import dossier_donnees
from donnees.rasters import (
    COLONNES_CHALEUR,
    GROUPES_SOL,
    NODATA_FLOTTANT,
    NODATA_T_AIR,
    aligner_raster,
    decouper_raster,
    ecrire_raster,
    ecrire_table,
    emprise_raster,
    fenetre_intersection,
    lire_json_parametres_invest,
    lire_raster,
    lire_table_biophysique,
    lire_zones_invest,
)
from donnees.partitions import est_partitionnee, lister_communes
from donnees.referentiel import chemin_couche, lire_couche, lire_territoire
from donnees.validation_invest import Borne, exiger_entrees_valides, valider_entrees_chaleur, valider_entrees_eau
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import reprojeter
from indicateurs.chaleur import (
    ChaleurTerritoire,
    ParametresChaleur,
    calculer_chaleur_territoire,
    calculer_cle_chaleur,
    ecrire_cache_memoire,
    lire_cache_memoire,
    lire_derniers_resultats,
)
from indicateurs.eau_grille import (
    calculer_eau_territoire,
    compter_scenarios_eau,
    lire_percolation,
    tabuler_eau_territoire,
)
from indicateurs.grille import SCENARIOS, OccupationGrille, preparer_occupation_grille
from indicateurs.mise_a_jour import mettre_a_jour_chaleur
from indicateurs.modeles import (
    ModelesTerritoire,
    chaleur_depuis_tableaux,
    chaleur_en_tableaux,
    choisir_selon_groupe_sol,
    indexer_zones_grille,
    modeliser_chaleur_zones,
    modeliser_eau_zones,
    occupation_depuis_tableaux,
    occupation_en_tableaux,
    reclasser_colonnes,
    selectionner_zones_modeles,
)
from indicateurs.parametres import FICHIERS_PARAMETRES, lire_parametres, lire_table_parametres
from services.magasin import lire_registre_modeles, ouvrir_magasin
from services.reparti import lire_reglages_dask, ouvrir_client
from services.tuiles import calculer_chaleur_tuiles, choisir_tuiles, purger_grilles, relire_chaleur_tuiles

__all__ = [
    "ModelesTerritoire",
    "calculer_modeles_territoire",
    "ecrire_sorties_territoire",
    "executer_chaleur_invest",
    "executer_eau_invest",
    "lire_bornes_parametres",
    "lire_parametres_invest",
    "preparer_grille_territoire",
    "valider_chaleur_invest",
    "valider_eau_invest",
]


# ------------------------------------------------------------------------------------ mode InVEST


def lire_bornes_parametres() -> dict[str, Borne]:
    """Bornes, libellés, unités et valeurs par défaut des paramètres (``indicateurs/parametres/modele.csv``)."""
    table = lire_table_parametres()
    return {code: Borne(float(ligne["minimum"]), float(ligne["maximum"]), str(ligne["libelle"]),
                        str(ligne["unite"]), float(ligne["valeur"])) for code, ligne in table.iterrows()}


def valider_chaleur_invest(occupation, biophysique, et0, zones, parametres, sortie=None) -> list:
    """Problèmes des entrées InVEST du modèle de chaleur, tous à la fois, sans calcul ni écriture
    (:func:`donnees.validation_invest.valider_entrees_chaleur`, bornes de ``modele.csv``)."""
    return valider_entrees_chaleur(occupation, biophysique, et0, zones, parametres, lire_bornes_parametres(),
                                   sortie, indexer_zones_grille)


def valider_eau_invest(occupation, biophysique, groupe_sol, pluie, zones, parametres=None, sortie=None) -> list:
    """Problèmes des entrées InVEST du modèle de l'eau, tous à la fois, sans calcul ni écriture."""
    return valider_entrees_eau(occupation, biophysique, groupe_sol, pluie, zones, parametres,
                               lire_bornes_parametres(), sortie, indexer_zones_grille)


def lire_parametres_invest(chemin) -> dict:
    """JSON de paramètres InVEST : ``{"chaleur": ParametresChaleur, "pluie_mm_an": float | None,
    "cc_method": str}`` ; les clés absentes prennent les valeurs de ``indicateurs/parametres/modele.csv``."""
    lu = lire_json_parametres_invest(chemin)
    defaut = ParametresChaleur.depuis_parametres(lire_parametres())
    return {"chaleur": ParametresChaleur(**{**defaut.__dict__, **lu["valeurs"]}), "cc_method": lu["cc_method"],
            "pluie_mm_an": lu["pluie_mm_an"]}


def executer_chaleur_invest(occupation, biophysique, et0, zones, parametres, sortie, suffixe: str = "") -> dict:
    """Modèle de rafraîchissement urbain sur des fichiers InVEST ; écrit ``T_air``, ``hm``, ``cc`` (GeoTIFF)
    et ``chaleur_zones.csv`` (colonnes des zones + ``avg_cc``, ``avg_tmp_v``, ``avg_tmp_an``).

    Comme InVEST, les rasters sont ramenés à l'intersection de l'occupation, de l'ET0 et des zones, sur la
    grille de l'occupation (ET0 rééchantillonnée en spline cubique si sa grille est décalée). Renvoie
    ``{"zones": DataFrame, "fichiers": {nom: chemin}, "resultat": ResultatChaleur, "transform", "crs"}``.
    Les entrées sont d'abord validées (:func:`valider_chaleur_invest`) : au moindre problème,
    :class:`~donnees.validation_invest.ErreurEntreesInvest` les donne tous, et rien n'est calculé ni écrit.
    """
    exiger_entrees_valides(valider_chaleur_invest(occupation, biophysique, et0, zones, parametres, sortie))
    lulc = lire_raster(occupation, "occupation du sol")
    table = lire_table_biophysique(biophysique, "chaleur")
    et0_brut = lire_raster(et0, "évapotranspiration de référence (ET0)")
    zones_lues = lire_zones_invest(zones)
    p: ParametresChaleur = lire_parametres_invest(parametres)["chaleur"]
    emprises = [emprise_raster(et0_brut) if et0_brut.crs == lulc.crs else tuple(
        transform_bounds(et0_brut.crs, lulc.crs, *emprise_raster(et0_brut))),
        tuple(reprojeter(zones_lues, lulc.crs).total_bounds)]
    lulc = decouper_raster(lulc, *fenetre_intersection(lulc, emprises))
    et0_aligne = aligner_raster(et0_brut, lulc, Resampling.cubic_spline, "ET0")
    valide = lulc.valide & et0_aligne.valide
    lulc.valide = valide
    et0_valeurs = np.where(valide, et0_aligne.valeurs, np.nan).astype(np.float32)
    if not valide.any():
        raise ErreurDonnees(f"Aucune cellule valide commune à {lulc.chemin.name} et {et0_brut.chemin.name}.",
                            "occupation")
    proprietes = reclasser_colonnes(lulc.valeurs, valide, table, COLONNES_CHALEUR, lulc.chemin.name,
                                    Path(biophysique).name)
    resultat, table_zones = modeliser_chaleur_zones(proprietes, et0_valeurs, valide, lulc.transform, lulc.crs,
                                                    zones_lues, p)
    sortie = Path(sortie)
    fichiers = {
        "T_air": ecrire_raster(sortie / f"T_air{suffixe}.tif", resultat.t_air, lulc.transform, lulc.crs,
                               NODATA_T_AIR),
        "hm": ecrire_raster(sortie / f"hm{suffixe}.tif", resultat.hm, lulc.transform, lulc.crs, NODATA_FLOTTANT),
        "cc": ecrire_raster(sortie / f"cc{suffixe}.tif", resultat.cc, lulc.transform, lulc.crs, NODATA_FLOTTANT),
        "zones": ecrire_table(sortie / f"chaleur_zones{suffixe}.csv", table_zones),
    }
    return {"zones": table_zones, "fichiers": fichiers, "resultat": resultat, "transform": lulc.transform,
            "crs": lulc.crs}


def _lire_entrees_eau(occupation, biophysique, groupe_sol, pluie, zones, parametres) -> tuple:
    """Entrées lues, rasters alignés : (lulc, table biophysique, groupes de sol, pluie, zones lues)."""
    lulc = lire_raster(occupation, "occupation du sol")
    table = lire_table_biophysique(biophysique, "eau")
    sol = lire_raster(groupe_sol, "groupe hydrologique de sol")
    zones_lues = lire_zones_invest(zones)
    pluie_fixe = lire_parametres_invest(parametres)["pluie_mm_an"] if parametres else None
    pluie_lue = lire_raster(pluie, "pluie annuelle (mm/an)") if pluie else None
    if pluie_lue is None and pluie_fixe is None:
        raise ErreurDonnees("Pluie annuelle manquante : donnez un GeoTIFF de pluie (--pluie) ou la clé "
                            "« precipitation_mm_per_year » du JSON de paramètres.", "pluie")
    emprises = [emprise_raster(sol)] + ([emprise_raster(pluie_lue)] if pluie_lue is not None else [])
    lulc = decouper_raster(lulc, *fenetre_intersection(lulc, emprises))
    sol_aligne = aligner_raster(sol, lulc, Resampling.nearest, "groupe de sol")
    groupes = np.where(sol_aligne.valide, sol_aligne.valeurs, 0).astype(np.int64)
    hors_groupes = sol_aligne.valide & lulc.valide & ~np.isin(groupes, (1, 2, 3, 4))
    if hors_groupes.any():
        raise ErreurDonnees(f"Fichier {sol.chemin.name} : groupes de sol {sorted(set(groupes[hors_groupes]))[:5]} "
                            "hors de 1 à 4 (A à D). Corrigez le raster.", "groupe_sol")
    valide = lulc.valide & sol_aligne.valide
    if pluie_lue is not None:
        pluie_aligne = aligner_raster(pluie_lue, lulc, Resampling.nearest, "pluie")
        valide &= pluie_aligne.valide
        valeurs_pluie = np.where(valide, pluie_aligne.valeurs, np.nan).astype(np.float32)
    else:
        valeurs_pluie = np.float32(pluie_fixe)
    lulc.valide = valide
    return lulc, table, groupes, valeurs_pluie, zones_lues


def executer_eau_invest(occupation, biophysique, groupe_sol, pluie, zones, sortie, parametres=None,
                        suffixe: str = "") -> dict:
    """Modèle de rétention des eaux pluviales sur des fichiers InVEST ; écrit les volumes de rétention, de
    ruissellement et de percolation (GeoTIFF, m³/an) et ``eau_zones.csv`` (colonnes d'InVEST).

    Rasters ramenés à l'intersection de l'occupation, du groupe de sol et de la pluie (plus proche voisin).
    ``parametres`` (JSON) facultatif : ``precipitation_mm_per_year`` remplace la pluie si elle est absente.
    Les entrées sont d'abord validées (:func:`valider_eau_invest`) : au moindre problème, rien n'est calculé
    ni écrit.
    """
    exiger_entrees_valides(valider_eau_invest(occupation, biophysique, groupe_sol, pluie, zones, parametres,
                                              sortie))
    lulc, table, groupes, valeurs_pluie, zones_lues = _lire_entrees_eau(occupation, biophysique, groupe_sol,
                                                                        pluie, zones, parametres)
    ratios = {}
    for prefixe in ("rc", "pe"):
        if f"{prefixe}_a" not in table.columns:
            continue
        par_groupe = np.stack(list(reclasser_colonnes(lulc.valeurs, lulc.valide, table,
                                                      [f"{prefixe}_{g}" for g in GROUPES_SOL], lulc.chemin.name,
                                                      Path(biophysique).name).values()))
        ratios[prefixe] = choisir_selon_groupe_sol(par_groupe, groupes, lulc.valide)
    resultat, table_zones = modeliser_eau_zones(ratios, valeurs_pluie, lulc.valide, lulc.transform, lulc.crs,
                                                zones_lues)
    sortie = Path(sortie)
    fichiers = {}
    for nom, grille in (("retention_volume", resultat.volume_retention),
                        ("runoff_volume", resultat.volume_ruissellement),
                        ("percolation_volume", resultat.volume_percolation),
                        ("retention_ratio", resultat.ratio_retention)):
        if grille is not None:
            fichiers[nom] = ecrire_raster(sortie / f"{nom}{suffixe}.tif", grille, lulc.transform, lulc.crs,
                                          NODATA_FLOTTANT)
    fichiers["zones"] = ecrire_table(sortie / f"eau_zones{suffixe}.csv", table_zones)
    return {"zones": table_zones, "fichiers": fichiers, "resultat": resultat, "transform": lulc.transform,
            "crs": lulc.crs}


# ------------------------------------------------------------------------------------ territoire


_GRILLES: dict[str, OccupationGrille] = {}
_VERROU = threading.Lock()


def _cle_grille(dossier: Path, reglages: tuple) -> str:
    chemins = [chemin_couche("occupation", dossier), chemin_couche("communes", dossier)]
    nomenclatures = [Path(FICHIERS_PARAMETRES[n]).read_bytes() for n in ("revetements", "ocsge_revetements")]
    return cache_modeles.calculer_empreinte("grille-1", cache_modeles.signer_fichiers(*chemins), reglages,
                                            *[hashlib.sha256(n).hexdigest() for n in nomenclatures])


COLONNES_GRILLE = ["code_cs", "code_us", "geometry"]


def lire_occupation_par_commune(dossier: Path):
    """Occupation du sol à rastériser : couche rangée par commune, lue une commune à la fois dans l'ordre du
    manifeste (mémoire bornée par la plus grosse commune ; même ordre que la couche lue entière) ; ancien
    fichier unique, lu d'un coup. Une partition absente ou illisible lève
    :class:`donnees.partitions.ErreurPartitions` qui la nomme."""
    if not est_partitionnee("occupation", dossier):
        yield lire_couche("occupation", dossier, colonnes=COLONNES_GRILLE)
        return
    for code in lister_communes("occupation", dossier):
        yield lire_couche("occupation", dossier, colonnes=COLONNES_GRILLE, communes=[code])


def preparer_grille_territoire(dossier: Path, parametres=None, cache_disque: bool = True) -> OccupationGrille:
    """Occupation du sol du territoire rastérisée (gardée en mémoire et dans ``cache/grille_<clé>.npz``)."""
    parametres = parametres or lire_parametres()
    reglages = (parametres["resolution_grille_m"], parametres["rayon_tissu_urbain_m"],
                parametres["part_artificialisee_tissu_urbain"])
    cle = _cle_grille(dossier, reglages)
    with _VERROU:
        if cle in _GRILLES:
            return _GRILLES[cle]
    chemin = cache_modeles.chemin_cache(dossier, "grille", cle)
    occupation = None
    # Grilles projetées en lecture seule (memmap) : lues à la demande, pas d'un bloc au démarrage.
    tableaux = cache_modeles.lire_npz(chemin, projeter=True) if cache_disque else None
    if tableaux is not None:
        try:
            occupation = occupation_depuis_tableaux(tableaux)
        except (KeyError, ValueError, IndexError):
            occupation = None
    if occupation is None:
        communes = lire_couche("communes", dossier, colonnes=["code_insee", "geometry"])
        occupation = preparer_occupation_grille(lire_occupation_par_commune(dossier), communes, *reglages)
        if cache_disque:
            cache_modeles.ecrire_npz(chemin, **occupation_en_tableaux(occupation))
            cache_modeles.purger_cache(chemin.parent, "grille")
    occupation.meta["cle"] = cle
    with _VERROU:
        _GRILLES.clear()
        _GRILLES[cle] = occupation
    return occupation


def _lire_zones_modeles(dossier: Path, registre: tuple | None = None, cache_disque: bool = True) -> pd.DataFrame:
    """Zones qui entrent dans les modèles, tirées de ``registre`` (opérations, zones) déjà lu, sinon du
    magasin (ou de leur copie gardée dans le cache disque, :func:`services.magasin.lire_registre_modeles`)."""
    if registre is not None:
        operations, zones = registre
        return selectionner_zones_modeles(zones, operations)
    with ouvrir_magasin(dossier) as magasin:  # zones validées, gardées tant que la base ne change pas
        operations, zones = lire_registre_modeles(magasin, dossier if cache_disque else None)
    return selectionner_zones_modeles(zones, operations)


def _obtenir_chaleur(dossier: Path, occupation: OccupationGrille, zones: pd.DataFrame,
                     p_chaleur: ParametresChaleur, cache_disque: bool, incremental: bool = True,
                     preparer_etat: bool | str = False):
    """Chaleur des 3 scénarios : cache mémoire, sinon cache disque, sinon mise à jour incrémentale du dernier
    résultat calculé (:mod:`indicateurs.mise_a_jour`), sinon calcul complet (puis mis en cache).

    ``preparer_etat`` : un résultat relu sur disque n'a pas l'état de la mise à jour incrémentale ; il est
    alors recalculé en arrière-plan (même résultat), pour que la première écriture suivante soit rapide ;
    ``"a_la_demande"`` : ce calcul attend :func:`lancer_preparations_etat` (un compte connecté charge les
    modèles), pour ne pas disputer les processeurs au premier affichage public."""
    signature = occupation.meta["cle"]
    cle = calculer_cle_chaleur(zones, signature, p_chaleur)
    chaleur = lire_cache_memoire(cle)
    chemin = cache_modeles.chemin_cache(dossier, "chaleur", cle)
    if chaleur is None and cache_disque:
        chaleur = _relire_chaleur_disque(dossier, occupation, p_chaleur, cle)
        if chaleur is not None:
            ecrire_cache_memoire(chaleur)
            if preparer_etat == "a_la_demande" and incremental:
                _EN_ATTENTE[signature] = (occupation, zones, p_chaleur, signature)
            elif preparer_etat and incremental:
                _preparer_etat_en_arriere_plan(occupation, zones, p_chaleur, signature)
    if chaleur is None and incremental:
        chaleur = _mettre_a_jour_chaleur(occupation, zones, p_chaleur, signature)
        if chaleur is not None:
            ecrire_cache_memoire(chaleur)
            if cache_disque:  # écriture (centaines de Mo à la taille complète) en arrière-plan
                _ECRITURES.append(threading.Thread(target=_ecrire_chaleur, args=(chemin, chaleur), daemon=True))
                _ECRITURES[-1].start()
            return chaleur
    if chaleur is None:
        chaleur = calculer_chaleur_territoire(occupation, zones, p_chaleur, signature)
        if cache_disque:
            _ecrire_chaleur(chemin, chaleur)
    return chaleur


def _relire_chaleur_disque(dossier: Path, occupation: OccupationGrille, p_chaleur: ParametresChaleur,
                           cle: str) -> ChaleurTerritoire | None:
    """Résultat du cache disque (calcul d'un seul tenant, ou en tuiles : grilles ``.npy`` en ``memmap``), ou
    ``None`` s'il manque ou est incomplet (il sera recalculé)."""
    tableaux = cache_modeles.lire_npz(cache_modeles.chemin_cache(dossier, "chaleur", cle), projeter=True)
    if tableaux is None:
        return None
    try:
        if "tuiles" in tableaux:
            return relire_chaleur_tuiles(tableaux, cache_modeles.dossier_cache(dossier), occupation, p_chaleur, cle)
        # Archive d'avant les tables gardées colonne par colonne : communes réagrégées, opérations lues en JSON.
        tables = {nom: cache_modeles.table_depuis_tableaux(nom, tableaux) for nom in ("communes", "table_operations")
                  if f"{nom}{cache_modeles.SEPARATEUR_TABLE}colonnes" in tableaux}
        return chaleur_depuis_tableaux(tableaux, occupation, p_chaleur, cle, tables.get("communes"),
                                       tables.get("table_operations"))
    except (KeyError, ValueError, TypeError):
        return None


def _obtenir_chaleur_tuiles(dossier: Path, occupation: OccupationGrille, zones: pd.DataFrame,
                            p_chaleur: ParametresChaleur, parametres, cache_disque: bool, options: dict,
                            annoncer) -> ChaleurTerritoire:
    """Chaleur des 3 scénarios en tuiles (:mod:`services.tuiles`) : cache mémoire, sinon cache disque, sinon
    calcul sur le planificateur local de Dask, ou sur la grappe (``--reparti``, ``--processus N``, ou
    ordonnanceur nommé par ``DESIMPER_DASK_SCHEDULER`` / ``dask.ordonnanceur``)."""
    cle = calculer_cle_chaleur(zones, occupation.meta["cle"], p_chaleur)
    chaleur = lire_cache_memoire(cle)
    if chaleur is None and cache_disque:
        chaleur = _relire_chaleur_disque(dossier, occupation, p_chaleur, cle)
    if chaleur is None:
        territoire = lire_territoire(dossier)
        taille = int(parametres["taille_tuile_cellules"])
        annoncer(f"Modèle de chaleur en tuiles de {taille} × {taille} cellules…")
        sur_grappe = (options.get("reparti") or options.get("processus")
                      or lire_reglages_dask(territoire)["ordonnanceur"])
        contexte = (ouvrir_client(territoire, options.get("processus"), rappel=annoncer) if sur_grappe
                    else contextlib.nullcontext())
        with contexte as client:
            chaleur = calculer_chaleur_tuiles(occupation, zones, p_chaleur, taille, cle,
                                              cache_modeles.dossier_cache(dossier) if cache_disque else None,
                                              client, options.get("progression"))
    ecrire_cache_memoire(chaleur)
    return chaleur


_ECRITURES: list[threading.Thread] = []
_PREPARATIONS: dict[str, threading.Thread] = {}
_EN_ATTENTE: dict[str, tuple] = {}  # préparations d'état demandées « à la demande », pas encore lancées


def lancer_preparations_etat() -> int:
    """Lance en arrière-plan les préparations d'état de la mise à jour incrémentale mises en attente par
    ``preparer_etat="a_la_demande"`` (un compte connecté, qui peut écrire, charge les modèles) ; renvoie leur nombre."""
    lancees = 0
    while _EN_ATTENTE:
        try:
            _signature, arguments = _EN_ATTENTE.popitem()
        except KeyError:  # vidée par un autre fil entre-temps
            break
        _preparer_etat_en_arriere_plan(*arguments)
        lancees += 1
    return lancees


def _preparer_etat_en_arriere_plan(occupation: OccupationGrille, zones, p_chaleur: ParametresChaleur,
                                   signature: str) -> None:
    """Calcul complet en arrière-plan (une fois par grille), mis en mémoire avec son état."""
    if signature in _PREPARATIONS:
        return

    def preparer():
        ecrire_cache_memoire(calculer_chaleur_territoire(occupation, zones, p_chaleur, signature,
                                                         utiliser_cache=False))

    _PREPARATIONS[signature] = threading.Thread(target=preparer, daemon=True, name="desimper-etat-chaleur")
    _PREPARATIONS[signature].start()
_VERROU_MISE_A_JOUR = threading.Lock()


def _ecrire_chaleur(chemin: Path, chaleur: ChaleurTerritoire) -> None:
    tableaux = chaleur_en_tableaux(chaleur)
    for nom, table in (("communes", chaleur.communes), ("table_operations", chaleur.operations)):
        try:  # tables gardées colonne par colonne : relues sans réagréger les grilles ni relire du JSON
            tableaux.update(cache_modeles.table_en_tableaux(nom, table))
        except TypeError:
            pass
    cache_modeles.ecrire_npz(chemin, **tableaux)
    cache_modeles.purger_cache(chemin.parent, "chaleur")
    purger_grilles(chemin.parent)


def attendre_ecritures_cache() -> None:
    """Attend la fin des écritures du cache disque lancées en arrière-plan (tests, arrêt propre)."""
    while _ECRITURES:
        _ECRITURES.pop().join()


def _mettre_a_jour_chaleur(occupation: OccupationGrille, zones, p_chaleur: ParametresChaleur,
                           signature: str) -> ChaleurTerritoire | None:
    """Mise à jour incrémentale depuis le plus récent résultat en mémoire qui la permet, ou ``None``."""
    with _VERROU_MISE_A_JOUR:
        for base in lire_derniers_resultats():
            if "etat" in base.meta:
                resultat = mettre_a_jour_chaleur(base, occupation, zones, p_chaleur, signature, tuple(SCENARIOS))
                if resultat is not None:
                    return resultat
    return None


def calculer_eau_modeles(occupation: OccupationGrille, zones, parametres, chaleur: ChaleurTerritoire
                         ) -> pd.DataFrame:
    """Eau par commune : depuis les grilles de scénarios gardées par la chaleur (comptes entretenus par la mise
    à jour incrémentale), sinon calcul complet. Même table dans les deux cas."""
    if "comptes_eau" in chaleur.meta:  # calcul en tuiles : comptes (commune × revêtement) sommés par tuile
        return tabuler_eau_territoire(chaleur.meta["comptes_eau"], occupation, parametres)
    with _VERROU_MISE_A_JOUR:  # l'état n'appartient qu'au dernier résultat et n'est modifié que sous ce verrou
        etat = chaleur.meta.get("etat")
        if etat is not None:
            if "comptes_eau" not in etat:
                etat["comptes_eau"] = compter_scenarios_eau(etat["revetements"], occupation)
            return tabuler_eau_territoire({nom: c.copy() for nom, c in etat["comptes_eau"].items()}, occupation,
                                          parametres)
    return calculer_eau_territoire(occupation, zones, parametres)


PREFIXE_EAU = "eau"
VERSION_EAU = "eau-1"  # à changer si la table de l'eau change de forme


def calculer_cle_eau(chaleur: ChaleurTerritoire, occupation: OccupationGrille, parametres) -> str:
    """Clé du cache disque de l'eau : clé du modèle de chaleur (zones, grille, revêtements), clé de la grille,
    pluie annuelle et ratios de percolation (seules entrées de l'eau hors de ces clés)."""
    return cache_modeles.calculer_empreinte(VERSION_EAU, chaleur.cle, occupation.meta.get("cle"),
                                            float(parametres["pluie_annuelle_mm"]), lire_percolation().to_json())


def _obtenir_eau(dossier: Path, occupation: OccupationGrille, zones, parametres, chaleur: ChaleurTerritoire,
                 cache_disque: bool) -> pd.DataFrame:
    """Eau par commune : relue dans ``cache/eau_<clé>.npz`` si la clé correspond, sinon calculée
    (:func:`calculer_eau_modeles`) puis gardée (sans cache disque si ``cache_disque`` est faux)."""
    if not cache_disque:
        return calculer_eau_modeles(occupation, zones, parametres, chaleur)
    chemin = cache_modeles.chemin_cache(dossier, PREFIXE_EAU, calculer_cle_eau(chaleur, occupation, parametres))
    relues = cache_modeles.lire_tables_npz(chemin, "eau")
    if relues is not None:
        return relues["eau"]
    eau = calculer_eau_modeles(occupation, zones, parametres, chaleur)
    cache_modeles.ecrire_tables_npz(chemin, PREFIXE_EAU, eau=eau)
    return eau


def calculer_modeles_territoire(dossier: Path | None = None, cache_disque: bool = True,
                                avec_eau: bool = True, incremental: bool = True, rappel=None,
                                preparer_etat: bool | str = False, registre: tuple | None = None,
                                reparti: bool = False, processus: int | None = None,
                                progression=None) -> ModelesTerritoire:
    """Modèles chaleur et eau du territoire du dossier de données (couches + zones du magasin).

    Opérations validées seulement. Chaleur : 3 scénarios (sans opérations, réalisées, réalisées + programmées),
    gardés en mémoire et dans ``cache/chaleur_<clé>.npz`` ; la clé change quand les zones (géométrie,
    revêtements, statut), l'occupation du sol ou les paramètres changent. Quand seules les zones changent,
    le dernier résultat en mémoire est mis à jour autour des zones changées (``incremental``), au lieu de
    tout recalculer ; le résultat est le même. Eau par commune gardée dans ``cache/eau_<clé>.npz``
    (:func:`calculer_cle_eau`) ; ``cache_disque`` faux : rien n'est lu ni écrit sur disque, ni ici ni pour
    les sommes aux abords (``ModelesTerritoire.dossier_donnees`` à ``None``).
    ``rappel(texte)`` : reçoit l'étape en cours (pour l'afficher).
    ``preparer_etat`` (application) : après une relecture du cache disque, l'état de la mise à jour
    incrémentale est reconstruit en arrière-plan, tout de suite ou, ``"a_la_demande"``, à l'appel de
    :func:`lancer_preparations_etat`. ``registre`` : (opérations, zones) du registre **entier**
    déjà lus dans le magasin (évite une seconde lecture) ; sinon lus ici.

    Calcul en tuiles (:mod:`services.tuiles`, mêmes tables) quand la grille dépasse ``seuil_tuiles_cellules``,
    ou sur demande : ``reparti`` (grappe Dask de :func:`services.reparti.ouvrir_client`), ``processus`` (grappe
    locale de N processus) ; ``progression`` : flux où écrire la barre de progression de Dask.
    """
    annoncer = rappel or (lambda texte: None)
    dossier = Path(dossier) if dossier else dossier_donnees()
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    annoncer("Lecture de l'occupation du sol…")
    occupation = preparer_grille_territoire(dossier, parametres, cache_disque)
    annoncer("Lecture des opérations validées…")
    zones = _lire_zones_modeles(dossier, registre, cache_disque)
    annoncer("Modèle de chaleur : 3 scénarios (sans opérations, réalisées, réalisées + programmées)…")
    p_chaleur = ParametresChaleur.depuis_parametres(parametres)
    if choisir_tuiles(occupation, parametres, reparti, processus):
        chaleur = _obtenir_chaleur_tuiles(dossier, occupation, zones, p_chaleur, parametres, cache_disque,
                                          {"reparti": reparti, "processus": processus, "progression": progression},
                                          annoncer)
    else:
        chaleur = _obtenir_chaleur(dossier, occupation, zones, p_chaleur, cache_disque, incremental, preparer_etat)
    annoncer("Modèle de l'eau : volumes retenus et ruisselés par commune…")
    eau = (_obtenir_eau(dossier, occupation, zones, parametres, chaleur, cache_disque) if avec_eau
           else pd.DataFrame())
    return ModelesTerritoire(occupation, chaleur, eau, dossier if cache_disque else None)


def ecrire_sorties_territoire(modeles: ModelesTerritoire, sortie, chaleur: bool = True, eau: bool = True) -> dict:
    """Écrit les tables (CSV) et les grilles T_air par scénario (GeoTIFF, EPSG:2154) dans ``sortie``."""
    sortie = Path(sortie)
    fichiers = {}
    if chaleur:
        fichiers["chaleur_communes"] = ecrire_table(sortie / "chaleur_communes.csv", modeles.chaleur.communes)
        fichiers["chaleur_operations"] = ecrire_table(sortie / "chaleur_operations.csv", modeles.chaleur.operations)
        for nom, grille in modeles.chaleur.t_air.items():
            fichiers[f"T_air_{nom}"] = ecrire_raster(sortie / f"T_air_{nom}.tif", grille,
                                                     modeles.chaleur.grille.transform, modeles.chaleur.grille.crs,
                                                     NODATA_T_AIR)
    if eau:
        fichiers["eau_communes"] = ecrire_table(sortie / "eau_communes.csv", modeles.eau_communes)
    return fichiers
