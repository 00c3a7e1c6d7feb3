"""Champs importables et correspondance des colonnes d'un fichier avec ces champs.

Les champs importables, leurs libellés, leurs synonymes d'en-têtes (dans l'ordre de préférence) et leur
place dans le modèle XLSX (en-tête, feuille, aide, exemple) sont déclarés une fois, avec l'opération,
dans :mod:`donnees.modele_operation` (:func:`~donnees.modele_operation.champs_import`). Les listes
historiques (:data:`CHAMPS`, :data:`CHAMPS_IMPORT`, :data:`SYNONYMES`, :data:`ENTETES_OPERATIONS`,
:data:`ENTETES_ZONES`, :data:`AIDES_MODELE`) en sont déduites.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from donnees import modele_operation
from donnees.import_operations.tables import TableImportee
from donnees.import_operations.valeurs import _normaliser
from donnees.schemas import ErreurDonnees

FEUILLE_OPERATIONS, FEUILLE_ZONES, FEUILLE_AIDE = "opérations", "zones", "aide"
CLE_OPERATION = "cle_operation"
# Le code INSEE peut venir de la commune choisie dans la page : il n'est pas exigé dans le fichier.
_FOURNIS_HORS_FICHIER = ("code_insee",)


@dataclass(frozen=True)
class ChampImport:
    """Un champ importable : nom, libellé, obligation, et sa colonne du modèle XLSX (en-tête, aide, exemple).

    ``rang_modele`` : rang de la colonne dans la feuille « opérations » du modèle (None : absente) ;
    ``zone`` : champ d'une zone (feuille « zones ») ; ``modele_obligatoire`` : texte « Obligatoire : … »
    de l'aide du modèle.
    """

    nom: str
    libelle: str
    requis: bool = False
    zone: bool = False
    rang_modele: int | None = None
    entete: str | None = None
    modele_obligatoire: str = "non"
    aide: str = ""
    exemple: str = ""
    synonymes: tuple[str, ...] = ()


def _champ_import(nom: str, champ: modele_operation.Champ, rang_modele: int | None) -> ChampImport:
    """Vue d'import d'un champ déclaré dans le modèle de l'opération."""
    zone = nom == CLE_OPERATION or champ.feuille == FEUILLE_ZONES
    requis = (champ.obligatoire == "oui" and not zone and nom not in _FOURNIS_HORS_FICHIER)
    return ChampImport(nom, champ.libelle, requis=requis, zone=zone, rang_modele=rang_modele,
                       entete=champ.entete, modele_obligatoire=champ.obligatoire, aide=champ.aide,
                       exemple=champ.exemple, synonymes=champ.synonymes)


def _lister_champs() -> tuple[ChampImport, ...]:
    """Champs importables ; les colonnes de la feuille « opérations » du modèle XLSX sont numérotées
    d'après ``rang_modele`` (les champs non rangés à la suite, dans l'ordre de l'import)."""
    declares = modele_operation.champs_import()
    colonnes = [nom for nom, c in declares.items() if c.entete and c.feuille == FEUILLE_OPERATIONS]
    colonnes.sort(key=lambda nom: (declares[nom].rang_modele is None, declares[nom].rang_modele or 0,
                                   list(declares).index(nom)))
    return tuple(_champ_import(nom, c, colonnes.index(nom) if nom in colonnes else None)
                 for nom, c in declares.items())


CHAMPS: tuple[ChampImport, ...] = _lister_champs()

# Listes déduites de la table (noms historiques, lus par la page, la CLI et les tests).
CHAMPS_IMPORT: dict[str, str] = {c.nom: c.libelle for c in CHAMPS}
CHAMPS_OBLIGATOIRES = tuple(c.nom for c in CHAMPS if c.requis)
CHAMPS_ZONE = tuple(c.nom for c in CHAMPS if c.zone)
SYNONYMES: dict[str, tuple[str, ...]] = {c.nom: c.synonymes for c in CHAMPS}
ENTETES_OPERATIONS = {c.nom: c.entete for c in sorted((c for c in CHAMPS if c.rang_modele is not None),
                                                      key=lambda c: c.rang_modele)}
ENTETES_ZONES = {c.nom: c.entete for c in CHAMPS if c.zone and c.entete}
AIDES_MODELE = {c.nom: (c.modele_obligatoire, c.aide, c.exemple) for c in CHAMPS if c.entete}
_LIBELLES = {**CHAMPS_IMPORT, **{nom: modele_operation.libelle(nom) for nom in ("geometrie", "zones")},
             "fichier": "fichier", "colonnes": "colonnes"}

# Synonymes comparés après normalisation (minuscules, sans accents ni mots vides) : le nom du champ, son
# libellé, les synonymes déclarés, puis l'en-tête du modèle XLSX.
_SYNONYMES_NORMALISES = {
    c.nom: tuple(dict.fromkeys([_normaliser(c.nom), _normaliser(c.libelle)]
                               + [_normaliser(s) for s in SYNONYMES[c.nom]]
                               + ([_normaliser(c.entete)] if c.entete else [])))
    for c in CHAMPS}


def proposer_correspondance(table: TableImportee | pd.DataFrame | list[str],
                            champs: tuple[str, ...] | None = None) -> dict[str, str]:
    """Correspondance automatique champ cible → colonne du fichier (accents, casse, synonymes).

    Chaque colonne sert au plus une fois ; les synonymes exacts passent avant les plus vagues
    (« code_insee » avant « commune »). L'utilisateur peut ensuite corriger le dictionnaire.
    """
    if isinstance(table, TableImportee):
        colonnes = table.colonnes
    elif isinstance(table, pd.DataFrame):
        colonnes = [str(c) for c in table.columns]
    else:
        colonnes = [str(c) for c in table]
    champs = champs or tuple(CHAMPS_IMPORT)
    normalisees: dict[str, list[str]] = {}
    for colonne in colonnes:
        normalisees.setdefault(_normaliser(colonne), []).append(colonne)
    prises: set[str] = set()
    correspondance: dict[str, str] = {}
    # Passe par rang de synonyme : un synonyme de rang 0 d'un champ passe avant le rang 3 d'un autre.
    rang_max = max(len(s) for s in _SYNONYMES_NORMALISES.values())
    for rang in range(rang_max):
        for champ in champs:
            if champ in correspondance:
                continue
            synonymes = _SYNONYMES_NORMALISES[champ]
            if rang >= len(synonymes):
                continue
            for colonne in normalisees.get(synonymes[rang], []):
                if colonne not in prises:
                    correspondance[champ] = colonne
                    prises.add(colonne)
                    break
    return {champ: correspondance[champ] for champ in champs if champ in correspondance}


def _verifier_correspondance(table: TableImportee, correspondance: Mapping[str, Any]) -> dict[str, str]:
    """Correspondance nettoyée (champs vides retirés) ; lève si un champ ou une colonne n'existe pas."""
    propre: dict[str, str] = {}
    for champ, colonne in (correspondance or {}).items():
        if colonne is None or (isinstance(colonne, str) and not colonne.strip()):
            continue
        if champ not in CHAMPS_IMPORT:
            raise ErreurDonnees(f"Correspondance : champ « {champ} » inconnu. Champs possibles : "
                                f"{', '.join(CHAMPS_IMPORT)}.", "import", str(champ))
        if colonne not in table.colonnes:
            raise ErreurDonnees(f"Correspondance : la colonne « {colonne} » choisie pour le champ "
                                f"« {CHAMPS_IMPORT[champ]} » n'existe pas dans {table.nom_fichier} "
                                f"(colonnes : {', '.join(table.colonnes)}).", "import", str(champ))
        propre[champ] = colonne
    return propre
