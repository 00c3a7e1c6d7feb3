"""Surface imperméable de l'occupation du sol par commune, calculée partition par partition et gardée sur disque.

Couche d'occupation rangée par commune (:mod:`donnees.partitions`) : chaque commune est lue seule (mémoire
bornée par la plus grosse commune), son résultat gardé dans ``cache/surfaces_impermeables.parquet`` avec le
nom et l'empreinte SHA-256 de son fichier (ceux du manifeste) ; un démarrage à froid relit ce fichier au lieu de
recalculer les intersections, et seule une commune réimportée est recalculée. Une partition absente ou
illisible est signalée (liste ``manquantes``), les autres communes sont rendues. Ancien fichier unique : calcul
d'un seul tenant, comme avant.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from donnees.cache_modeles import dossier_cache, ecrire_atomiquement
from donnees.partitions import est_partitionnee, lire_manifeste
from donnees.referentiel import lire_couche, lire_couche_facultative
from indicateurs.surfaces import calculer_surface_impermeable_communes

journal = logging.getLogger(__name__)

FICHIER_CACHE = "surfaces_impermeables.parquet"
COLONNES_LUES = ["code_insee", "code_cs", "geometry"]
COLONNES_SURFACES = ["code_insee", "surface_impermeable", "surface_impermeable_batie",
                     "surface_impermeable_non_batie"]


def _lire_cache(chemin: Path) -> pd.DataFrame:
    if not chemin.is_file():
        return pd.DataFrame(columns=[*COLONNES_SURFACES, "fichier", "empreinte", "vide"])
    try:
        table = pd.read_parquet(chemin)
        if set(table.columns) != {*COLONNES_SURFACES, "fichier", "empreinte", "vide"}:
            raise ValueError(f"colonnes inattendues : {sorted(table.columns)}")
        return table
    except Exception as exc:  # cache abîmé : recalculé (jamais utilisé à moitié)
        journal.warning("Cache des surfaces imperméables illisible (%s) : %s ; recalcul.", chemin, exc)
        return pd.DataFrame(columns=[*COLONNES_SURFACES, "fichier", "empreinte", "vide"])


def calculer_surfaces_impermeables(dossier: Path, manquantes: list | None = None) -> pd.DataFrame:
    """Surface imperméable par commune (m², Lambert-93 ; voir
    :func:`indicateurs.surfaces.calculer_surface_impermeable_communes`), commune par commune.

    Une commune dont la partition manque ou est illisible est ajoutée à ``manquantes`` (si la liste est
    donnée, sinon :class:`donnees.partitions.ErreurPartitions`) et absente du résultat."""
    dossier = Path(dossier)
    if not est_partitionnee("occupation", dossier):
        return calculer_surface_impermeable_communes(lire_couche_facultative("occupation", dossier))
    manifeste = lire_manifeste("occupation", dossier)
    chemin = dossier_cache(dossier) / FICHIER_CACHE
    anciennes = _lire_cache(chemin)
    connues = {(str(c), f, e): i for i, (c, f, e) in
               enumerate(zip(anciennes["code_insee"], anciennes["fichier"], anciennes["empreinte"], strict=True))}
    lignes, nouvelles, fautives = [], 0, []
    for code, entree in manifeste["partitions"].items():
        if not entree.get("fichier"):  # commune sans polygone
            continue
        cle = (str(code), entree["fichier"], entree.get("empreinte"))
        if cle in connues:
            lignes.append(anciennes.iloc[[connues[cle]]])
            continue
        absentes: list = []
        occupation = lire_couche("occupation", dossier, colonnes=COLONNES_LUES, communes=[code], manquantes=absentes)
        if absentes:
            fautives.extend(absentes)
            continue
        surfaces = calculer_surface_impermeable_communes(occupation)
        vide = surfaces.empty
        if vide:  # aucun polygone imperméable : ligne gardée dans le cache, absente du résultat (comme avant)
            surfaces = pd.DataFrame([{"code_insee": str(code), **dict.fromkeys(COLONNES_SURFACES[1:], 0.0)}])
        lignes.append(surfaces.assign(fichier=entree["fichier"], empreinte=entree.get("empreinte"), vide=vide))
        nouvelles += 1
    table = (pd.concat(lignes, ignore_index=True) if lignes
             else pd.DataFrame(columns=[*COLONNES_SURFACES, "fichier", "empreinte", "vide"]))
    if nouvelles or len(table) != len(anciennes):
        try:
            ecrire_atomiquement(chemin, lambda temporaire: table.to_parquet(temporaire, index=False))
        except OSError as exc:  # dossier en lecture seule : le calcul reste valable, sans cache
            journal.warning("Cache des surfaces imperméables non écrit (%s) : %s", chemin, exc)
    if fautives:
        if manquantes is None:
            lire_couche("occupation", dossier, colonnes=COLONNES_LUES, communes=fautives)  # lève ErreurPartitions
        else:
            manquantes.extend(fautives)
    resultat = table.loc[~table["vide"].astype(bool), COLONNES_SURFACES]
    resultat = resultat.sort_values("code_insee", kind="stable").reset_index(drop=True)
    resultat["code_insee"] = resultat["code_insee"].astype(str)
    return resultat.astype({c: float for c in COLONNES_SURFACES[1:]})
