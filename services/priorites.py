"""Priorités par commune : calculées une commune à la fois (une tâche Dask par commune), stockées, relues.

Le score d'une parcelle ne dépend que d'elle, de l'occupation du sol qui la touche, des paramètres et des
opérations qui la citent ; son rang est pris dans sa commune (:mod:`indicateurs.priorites`). Aucune étape ne
normalise sur tout le territoire : le calcul commune par commune donne exactement les scores et les rangs du
calcul d'un seul tenant (prouvé sur la démonstration par ``tests/test_priorites_stockees.py``). Seule
précaution : l'occupation du sol est découpée par commune à l'import ; une parcelle qui déborde du contour de
sa commune peut toucher l'occupation de la voisine, qui est alors lue aussi.

Stockage : ``<dossier de données>/cache/priorites/<code INSEE>.parquet``, écrit d'un coup (temporaire puis
renommage), avec dans ses métadonnées Parquet l'empreinte de ses entrées : version du calcul, fichiers des
parcelles et de l'occupation de la commune (et des voisines lues), contours des communes, paramètres du
territoire et ``priorites.csv``, identifiants des parcelles de la commune citées par une opération. Une page
relit le fichier si l'empreinte est la même ; sinon elle calcule cette seule commune et la stocke.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from shapely.errors import GEOSException

from donnees.cache_modeles import calculer_empreinte, dossier_cache, ecrire_atomiquement, signer_fichiers
from donnees.config import dossier_donnees
from donnees.droits import lire_noms_communes
from donnees.droits import nommer_commune as nommer_code_commune
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import en_lambert93
from donnees.partitions import lister_communes
from donnees.referentiel import chemin_couche, lire_couche, lire_couche_facultative, lire_territoire
from donnees.schemas import SCHEMAS
from indicateurs.parametres import Parametres, lire_parametres
from indicateurs.priorites import FICHIER_PRIORITES, calculer_priorites
from services.magasin import ouvrir_magasin

journal = logging.getLogger(__name__)

VERSION_PRIORITES = "priorites-stockees-1"  # à changer quand le calcul ou le format du fichier change
SOUS_DOSSIER_PRIORITES = "priorites"
CLE_METADONNEES = b"desimper_priorites"
COLONNE_PARTITION = "code_insee"  # couches partitionnées par commune : <couche>/code_insee=<code>/
COLONNE_COMMUNE = {"parcelles": "commune", "batiments": "commune"}  # ailleurs : code_insee
# Marge de l'emprise des parcelles débordantes (≈ 10 m) : les arêtes reprojetées en Lambert-93 s'écartent de
# moins d'un millimètre de la boîte WGS84 de leurs sommets ; la marge couvre largement cet écart.
MARGE_EMPRISE_DEGRES = 1e-4
COLONNES_LUES = {"parcelles": ["id", "commune", "geometry"], "occupation": ["code_insee", "code_cs", "geometry"]}
STATUTS = {"calculee": "calculée", "a_jour": "déjà à jour", "sans_parcelle": "sans parcelle", "erreur": "en échec"}
STATUTS_PLURIEL = {"calculee": "calculées", "a_jour": "déjà à jour", "sans_parcelle": "sans parcelle",
                   "erreur": "en échec"}


# ------------------------------------------------------------------------------------ lecture par commune


def lire_couche_communes(nom: str, dossier: Path, codes: Iterable[str]) -> gpd.GeoDataFrame:
    """Lignes des communes ``codes`` d'une couche (colonnes utiles aux priorités).

    Couche partitionnée (manifeste) : partitions des communes demandées ; :class:`ErreurDonnees` si une commune
    que le manifeste nomme a son fichier absent ou illisible (une commune qu'il ne nomme pas n'a aucune ligne).
    Ancien fichier unique : filtré à la lecture (pyarrow)."""
    codes = list(dict.fromkeys(map(str, codes)))
    colonne = COLONNE_COMMUNE.get(nom, "code_insee")
    colonnes = COLONNES_LUES.get(nom)
    racine = Path(dossier) / nom
    if not racine.is_dir():
        if not chemin_couche(nom, dossier).exists():
            # Couche facultative non importée : table vide (comme les pages) ; sinon message français.
            return lire_couche_facultative(nom, dossier)[colonnes or slice(None)]
        return gpd.read_parquet(chemin_couche(nom, dossier), columns=colonnes, filters=[(colonne, "in", codes)])
    manquantes: list = []
    table = lire_couche(nom, dossier, colonnes=colonnes, communes=codes, manquantes=manquantes)
    # Une commune que le manifeste ne nomme pas n'a aucune ligne (aucune parcelle, commune inconnue) ; une
    # commune nommée dont le fichier manque ou est illisible est une partition absente, signalée.
    listees = set(lister_communes(nom, dossier))
    fautives = [code for code in manquantes if code in listees]
    if fautives:
        code = fautives[0]
        raise ErreurDonnees(f"Couche « {SCHEMAS[nom].libelle} » : partition de la commune {code} absente "
                            f"({racine / f'{COLONNE_PARTITION}={code}'}). Réimportez la couche pour cette commune.",
                            nom, code)
    return table


def signer_couche_communes(nom: str, dossier: Path, codes: Iterable[str]) -> str:
    """Signature (nom, taille, date) des fichiers qui portent les communes ``codes`` d'une couche : leurs
    partitions si la couche est partitionnée, sinon le fichier entier."""
    racine = Path(dossier) / nom
    if not racine.is_dir():
        return signer_fichiers(chemin_couche(nom, dossier))
    fichiers = [f for code in sorted(set(codes)) for f in sorted((racine / f"{COLONNE_PARTITION}={code}").glob("*"))]
    return f"{nom}:{sorted(set(codes))}:" + signer_fichiers(*fichiers)


def _communes_voisines(parcelles: gpd.GeoDataFrame, code: str, dossier: Path) -> tuple[list[str], np.ndarray]:
    """Communes dont le contour touche une parcelle de ``code`` (Lambert-93) qui déborde du contour de sa
    commune, et le masque de ces parcelles débordantes."""
    debordantes = np.zeros(len(parcelles), dtype=bool)
    if not chemin_couche("communes", dossier).exists():
        return [], debordantes
    communes = en_lambert93(lire_couche("communes", dossier, colonnes=["code_insee", "geometry"]))
    codes = communes["code_insee"].astype(str).to_numpy()
    geometries = np.asarray(parcelles.geometry.values, dtype=object)
    contour = communes.geometry.values[codes == code]
    if not len(contour):
        return [], debordantes
    contour = shapely.union_all(np.asarray(contour, dtype=object))
    shapely.prepare(contour)
    debordantes = ~shapely.covers(contour, geometries)
    if not debordantes.any():
        return [], debordantes
    _, touchees = shapely.STRtree(np.asarray(communes.geometry.values, dtype=object)).query(
        geometries[debordantes], predicate="intersects")
    return sorted(set(codes[touchees]) - {code}), debordantes


def _garder_occupation_utile(occupation: gpd.GeoDataFrame, code: str, emprise: tuple) -> gpd.GeoDataFrame:
    """Occupation de la commune, et celle des voisines qui touche l'emprise (WGS84, élargie de
    :data:`MARGE_EMPRISE_DEGRES`) de ses parcelles débordantes : une parcelle qui ne déborde pas ne touche
    aucun polygone d'une voisine (l'occupation est découpée par commune à l'import)."""
    ouest, sud, est, nord = emprise
    boite = shapely.box(ouest - MARGE_EMPRISE_DEGRES, sud - MARGE_EMPRISE_DEGRES, est + MARGE_EMPRISE_DEGRES,
                        nord + MARGE_EMPRISE_DEGRES)
    garder = occupation["code_insee"].astype(str).eq(code).to_numpy(bool) | shapely.intersects(
        np.asarray(occupation.geometry.values, dtype=object), boite)
    return occupation[garder]


# ------------------------------------------------------------------------------------ empreinte et stockage


def regrouper_parcelles_citees(registre: pd.DataFrame | None) -> dict[str, tuple[str, ...]]:
    """Identifiants des parcelles citées par une opération du registre, groupés par leurs 5 premiers
    caractères (code de la commune dans l'identifiant cadastral) : ``{code: (id, …)}`` triés."""
    if registre is None or registre.empty or "parcelles" not in registre.columns:
        return {}
    citees = sorted(set(registre["parcelles"].explode().dropna().astype(str)))
    groupes: dict[str, list[str]] = {}
    for identifiant in citees:
        groupes.setdefault(identifiant[:5], []).append(identifiant)
    return {prefixe: tuple(ids) for prefixe, ids in groupes.items()}


def _empreinte_reglages(parametres: Parametres) -> str:
    contenu = hashlib.sha256(FICHIER_PRIORITES.read_bytes()).hexdigest()[:16]
    return f"{parametres.valeurs}|priorites.csv:{contenu}"


def calculer_empreinte_commune(dossier: Path, code: str, parametres: Parametres,
                               citees: Mapping[str, tuple[str, ...]], prefixes: Iterable[str],
                               voisines: Iterable[str]) -> str:
    """Empreinte des entrées des priorités de ``code`` : version, fichiers de la commune (parcelles ;
    occupation de la commune et de ses ``voisines``), contours, réglages, parcelles citées dont
    l'identifiant commence par l'un des ``prefixes`` (ceux des parcelles de la commune)."""
    ids = sorted(i for prefixe in set(prefixes) for i in citees.get(prefixe, ()))
    return calculer_empreinte(VERSION_PRIORITES, code, signer_couche_communes("parcelles", dossier, [code]),
                              signer_couche_communes("occupation", dossier, [code, *voisines]),
                              signer_fichiers(chemin_couche("communes", dossier)), _empreinte_reglages(parametres),
                              ",".join(ids))


def chemin_priorites(dossier: Path, code: str) -> Path:
    """Fichier des priorités stockées d'une commune : ``<dossier>/cache/priorites/<code>.parquet``."""
    return dossier_cache(dossier) / SOUS_DOSSIER_PRIORITES / f"{code}.parquet"


def _metadonnees(schema: pa.Schema) -> dict | None:
    brut = (schema.metadata or {}).get(CLE_METADONNEES)
    return json.loads(brut) if brut else None


def _est_a_jour(meta: dict | None, dossier: Path, code: str, parametres: Parametres, citees: Mapping) -> bool:
    return bool(meta) and meta.get("empreinte") == calculer_empreinte_commune(
        dossier, code, parametres, citees, meta.get("prefixes", []), meta.get("voisines", []))


def lire_priorites_stockees(dossier: Path, code: str, parametres: Parametres,
                            citees: Mapping[str, tuple[str, ...]]) -> pd.DataFrame | None:
    """Priorités stockées de ``code`` si leur empreinte est celle des entrées actuelles ; ``None`` si le fichier
    manque, est périmé ou illisible (il sera recalculé)."""
    chemin = chemin_priorites(dossier, code)
    if not chemin.exists():
        return None
    try:
        table = pq.read_table(chemin)
    except (OSError, pa.ArrowException) as exc:
        journal.warning("Priorités stockées de %s illisibles, recalculées : %s", code, exc)
        return None
    if not _est_a_jour(_metadonnees(table.schema), dossier, code, parametres, citees):
        return None
    return table.to_pandas()


def stocker_priorites(dossier: Path, code: str, table: pd.DataFrame, meta: dict) -> Path:
    """Écrit les priorités d'une commune d'un coup, avec leurs métadonnées (empreinte, préfixes, voisines)."""
    tableau = pa.Table.from_pandas(table, preserve_index=False)
    tableau = tableau.replace_schema_metadata({**(tableau.schema.metadata or {}),
                                               CLE_METADONNEES: json.dumps(meta).encode("utf-8")})
    chemin = chemin_priorites(dossier, code)
    ecrire_atomiquement(chemin, lambda temporaire: pq.write_table(tableau, temporaire))
    return chemin


# ------------------------------------------------------------------------------------ calcul d'une commune


def _calculer_commune(dossier: Path, code: str, parametres: Parametres,
                      citees: Mapping[str, tuple[str, ...]]) -> tuple[pd.DataFrame | None, dict]:
    """Priorités de ``code`` lues et calculées pour elle seule, et leurs métadonnées ; ``None`` sans parcelle."""
    parcelles = lire_couche_communes("parcelles", dossier, [code])
    if parcelles.empty:
        return None, {}
    stockees, parcelles = parcelles, en_lambert93(parcelles)
    voisines, debordantes = _communes_voisines(parcelles, code, dossier)
    occupation = lire_couche_communes("occupation", dossier, [code, *voisines])
    if voisines:
        emprise = tuple(stockees.geometry[debordantes].to_crs(occupation.crs).total_bounds)
        occupation = _garder_occupation_utile(occupation, code, emprise)
    prefixes = sorted(set(parcelles["id"].astype(str).str[:5]))
    citees_ici = [i for prefixe in prefixes for i in citees.get(prefixe, ())]
    table = calculer_priorites(parcelles, occupation, operations=pd.DataFrame({"parcelles": [citees_ici]}),
                               parametres=parametres)
    meta = {"version": VERSION_PRIORITES, "code_insee": code, "prefixes": prefixes, "voisines": voisines,
            "empreinte": calculer_empreinte_commune(dossier, code, parametres, citees, prefixes, voisines)}
    return table, meta


def calculer_stocker_commune(dossier: str, code: str, parametres: Parametres,
                             citees: Mapping[str, tuple[str, ...]]) -> dict:
    """Tâche d'une commune (envoyée aux processus Dask) : calcule ses priorités, les stocke et rend un petit
    bilan ``{code, statut, parcelles, candidates, duree_s, message}`` (statut : clé de :data:`STATUTS`).

    Une donnée manquante ou un calcul qui échoue donne le statut « erreur » et son message, sans rien écrire."""
    debut = time.perf_counter()
    bilan = {"code": code, "statut": "calculee", "parcelles": 0, "candidates": 0, "message": ""}
    try:
        table, meta = _calculer_commune(Path(dossier), code, parametres, citees)
        if table is None:
            bilan.update(statut="sans_parcelle", message="aucune parcelle dans la couche des parcelles : rien à "
                                                         "classer")
        else:
            stocker_priorites(Path(dossier), code, table, meta)
            bilan.update(parcelles=len(table), candidates=int(table["parcelle_candidate"].sum()))
    except (ErreurDonnees, OSError, ValueError, pa.ArrowException, GEOSException) as exc:
        journal.warning("Priorités de la commune %s non calculées : %s", code, exc)
        bilan.update(statut="erreur", message=str(exc))
    bilan["duree_s"] = time.perf_counter() - debut
    return bilan


def obtenir_priorites_commune(code: str, dossier: Path, parametres: Parametres,
                              registre: pd.DataFrame | None) -> pd.DataFrame | None:
    """Priorités de la commune ``code`` pour une page : lues dans le stockage si elles sont à jour, sinon
    calculées pour cette seule commune puis stockées. ``None`` si elle n'a pas de parcelle.

    ``registre`` : toutes les opérations (parcelles déjà traitées écartées), sans rien en afficher."""
    dossier = Path(dossier)
    citees = regrouper_parcelles_citees(registre)
    table = lire_priorites_stockees(dossier, code, parametres, citees)
    if table is not None:
        return table
    table, meta = _calculer_commune(dossier, code, parametres, citees)
    if table is not None:
        try:
            stocker_priorites(dossier, code, table, meta)
        except OSError as exc:  # dossier en lecture seule : le résultat sert quand même, recalculé la fois suivante
            journal.warning("Priorités de la commune %s non stockées : %s", code, exc)
    return table


def lire_priorites_commune(code: str, dossier: Path | None = None) -> pd.DataFrame | None:
    """Priorités d'une commune lues depuis le dossier de données et le magasin (ligne de commande, rapports)."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    with ouvrir_magasin(dossier) as magasin:
        registre = magasin.lire_operations()
    return obtenir_priorites_commune(code, dossier, parametres, registre)


# ------------------------------------------------------------------------------------ toutes les communes


def _bilan_echec(code: str, exc: BaseException) -> dict:
    """Bilan d'une tâche perdue (processus tué deux fois, ordonnanceur perdu…)."""
    return {"code": code, "statut": "erreur", "parcelles": 0, "candidates": 0, "duree_s": float("nan"),
            "message": f"le calcul réparti a échoué ({exc.__class__.__name__} : {exc})"}


def calculer_priorites_territoire(dossier: Path | None = None, communes: Iterable[str] | None = None,
                                  processus: int | None = None, forcer: bool = False,
                                  progression: Callable[[str, float], None] | None = None,
                                  annoncer: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Priorités de toutes les communes du territoire (ou de ``communes``), une tâche Dask par commune
    (:func:`services.reparti.ouvrir_client`), stockées par commune. Les communes déjà à jour ne sont pas
    recalculées (sauf ``forcer``). Rend un bilan par commune (colonnes ``code``, ``nom``, ``statut``,
    ``parcelles``, ``candidates``, ``duree_s``, ``message``) : une commune en échec y est nommée, les autres
    sont calculées."""
    from distributed import as_completed

    from services.reparti import ouvrir_client

    if processus is not None and processus < 1:
        raise ErreurDonnees(f"Nombre de processus Dask invalide ({processus}) : donnez un entier ≥ 1 "
                            "(--processus N).", "arguments", "processus")
    dossier = Path(dossier) if dossier else dossier_donnees()
    territoire = lire_territoire(dossier)
    parametres = lire_parametres(territoire.get("parametres"))
    codes = list(dict.fromkeys(map(str, communes or territoire.get("codes_insee") or [])))
    with ouvrir_magasin(dossier) as magasin:
        citees = regrouper_parcelles_citees(magasin.lire_operations())
    bilans = {}
    for code in codes if not forcer else []:
        chemin = chemin_priorites(dossier, code)
        if chemin.exists() and _est_a_jour(_lire_metadonnees(chemin), dossier, code, parametres, citees):
            bilans[code] = {"code": code, "statut": "a_jour", "parcelles": 0, "candidates": 0, "duree_s": 0.0,
                            "message": ""}
    restantes = [code for code in codes if code not in bilans]
    avancer = progression or (lambda etape, fraction: None)
    if restantes:
        with ouvrir_client(territoire, processus, rappel=annoncer) as client:
            if annoncer and client.scheduler_info().get("services", {}).get("dashboard"):
                annoncer(f"Tableau de bord Dask (progression) : {client.dashboard_link}")
            partagees = client.scatter(citees, broadcast=True)
            taches = client.map(calculer_stocker_commune, [str(dossier)] * len(restantes), restantes,
                                [parametres] * len(restantes), [partagees] * len(restantes),
                                key=[f"priorites-{code}-{time.time_ns()}" for code in restantes], retries=1)
            codes_taches = {tache.key: code for tache, code in zip(taches, restantes)}
            for rang, tache in enumerate(as_completed(taches), start=1):
                code = codes_taches[tache.key]
                try:
                    bilans[code] = tache.result()
                except Exception as exc:  # noqa: BLE001 — tâche perdue : commune signalée, les autres continuent
                    journal.warning("Tâche des priorités de %s perdue : %s", code, exc)
                    bilans[code] = _bilan_echec(code, exc)
                avancer(f"Priorités : {rang}/{len(restantes)} communes", rang / len(restantes))
        _effacer_temporaires(dossier, restantes)
    noms = lire_noms_communes(dossier)
    table = pd.DataFrame([bilans[code] for code in codes])
    if not table.empty:
        table.insert(1, "nom", [nommer_code_commune(code, noms) for code in table["code"]])
    return table


def _effacer_temporaires(dossier: Path, codes: Iterable[str]) -> None:
    """Efface les fichiers temporaires (``.<code>-….parquet``) laissés par une tâche tuée en pleine écriture :
    jamais relus, ils ne prennent que de la place."""
    for code in codes:
        for temporaire in chemin_priorites(dossier, code).parent.glob(f".{code}-*.parquet"):
            temporaire.unlink(missing_ok=True)


def _lire_metadonnees(chemin: Path) -> dict | None:
    """Métadonnées d'un fichier de priorités stocké (schéma seul), ``None`` s'il est illisible."""
    try:
        return _metadonnees(pq.read_schema(chemin))
    except (OSError, pa.ArrowException, ValueError) as exc:
        journal.warning("Priorités stockées %s illisibles : %s", chemin.name, exc)
        return None


def decrire_bilan(bilan: pd.DataFrame) -> list[str]:
    """Lignes en français du bilan : une par commune sans parcelle ou en échec (nommée), puis le total."""
    lignes = [f"Commune {ligne.nom} : {STATUTS[ligne.statut]} — {ligne.message}"
              for ligne in bilan.itertuples() if ligne.statut in ("sans_parcelle", "erreur")]
    comptes = bilan["statut"].value_counts() if len(bilan) else pd.Series(dtype=int)
    resume = ", ".join(f"{int(comptes[s])} {(STATUTS_PLURIEL if comptes[s] > 1 else STATUTS)[s]}"
                       for s in STATUTS if s in comptes)
    return [*lignes, f"Priorités : {len(bilan)} communes ({resume or 'aucune'})."]
