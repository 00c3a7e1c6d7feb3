"""Motifs et validation des codes du cadastre et de l'INSEE, définis une seule fois.

- code INSEE de commune : 5 caractères, ``34301``, ``2A004`` (Corse), ``97411`` (outre-mer) ;
- identifiant de parcelle (Etalab / DGFiP) : 14 caractères, commune (5) + préfixe (3) + section (2) +
  numéro (4), par exemple ``34301000AB0123`` ;
- département : 2 caractères (``34``, ``2A``), 3 pour l'outre-mer (``971`` à ``976``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Motifs en texte (pour pandera) puis compilés (pour le code).
MOTIF_TEXTE_CODE_INSEE = r"^\d[\dAB]\d{3}$"
MOTIF_TEXTE_ID_PARCELLE = r"^\d[\dAB]\d{3}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}$"
MOTIF_TEXTE_PREFIXE = r"^[0-9A-Z]{3}$"
MOTIF_TEXTE_SECTION = r"^[0-9A-Z]{1,2}$"
MOTIF_TEXTE_NUMERO = r"^\d{1,4}$"

MOTIF_CODE_INSEE = re.compile(MOTIF_TEXTE_CODE_INSEE)
MOTIF_ID_PARCELLE = re.compile(r"^(\d[\dAB]\d{3})([0-9A-Z]{3})([0-9A-Z]{2})(\d{4})$")
# Référence courte d'une parcelle dans sa commune : [préfixe] section numéro (« AB 123 », « 000AB0123 »).
MOTIF_REF_PARCELLE = re.compile(r"^(?:(\d{3})\s*)?0*([A-Z]{1,2})\s*0*(\d{1,4})$")
# Identifiant complet au numéro ou à la section non complétés de zéros (« 34301000AB123 »).
_MOTIF_ID_ABREGE = re.compile(r"^(\d[\dAB]\d{3})(\d{3})0*([A-Z]{1,2})0*(\d{1,4})$")
# Code INSEE d'une commune existante possible : département reconnaissable (pas 00, 96, 98, 99 ; 971 à 976).
_MOTIF_CODE_INSEE_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DEPARTEMENTS_EXCLUS = ("00", "96", "98", "99")
LONGUEUR_CODE_INSEE = 5
LONGUEUR_ID_PARCELLE = 14


class IdParcelle(NamedTuple):
    """Les quatre parties d'un identifiant de parcelle."""

    code_insee: str
    prefixe: str
    section: str
    numero: str


def est_code_insee(valeur: object) -> bool:
    """Vrai si ``valeur`` est un texte au format d'un code INSEE (5 caractères, 2A/2B admis)."""
    return isinstance(valeur, str) and MOTIF_CODE_INSEE.match(valeur) is not None


def est_code_insee_commune(valeur: object) -> bool:
    """Vrai si ``valeur`` est un code INSEE de commune plausible (département reconnaissable)."""
    return (isinstance(valeur, str) and _MOTIF_CODE_INSEE_COMMUNE.match(valeur) is not None
            and not valeur.startswith(_DEPARTEMENTS_EXCLUS)
            and not (valeur.startswith("97") and valeur[2] not in "123456"))


def est_id_parcelle(valeur: object) -> bool:
    """Vrai si ``valeur`` est un identifiant de parcelle à 14 caractères."""
    return isinstance(valeur, str) and MOTIF_ID_PARCELLE.match(valeur) is not None


def decomposer_id_parcelle(valeur: str) -> IdParcelle | None:
    """Parties (code INSEE, préfixe, section, numéro) d'un identifiant de parcelle, ou None s'il est invalide."""
    m = MOTIF_ID_PARCELLE.match(valeur) if isinstance(valeur, str) else None
    return IdParcelle(*m.groups()) if m else None


def composer_id_parcelle(code_insee, prefixe, section, numero):
    """Identifiant de parcelle : code INSEE + préfixe + section + numéro sur 4 chiffres.

    Accepte des textes ou des séries pandas de textes (calcul en lot).
    """
    if isinstance(numero, str):
        return f"{code_insee}{prefixe}{section}{numero.zfill(4)}"
    return code_insee + prefixe + section + numero.str.zfill(4)


def departement_de(code_insee: str) -> str:
    """Département d'une commune : 2 caractères (``34``, ``2A``), 3 pour l'outre-mer (``971`` à ``976``)."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]


def lire_reference_parcelle(reference: str, code_insee: str) -> str | None:
    """Identifiant à 14 caractères d'une référence cadastrale, ou None si elle est illisible.

    Formats lus : l'identifiant lui-même (``34301000AB0123``), ou une référence dans la commune
    ``code_insee`` : « AB 123 », « AB123 », « 0AB0123 », « 000AB0123 » (préfixe « 000 » par défaut), ou
    l'identifiant aux zéros omis (« 34301000 AB 123 »).
    """
    texte = reference.strip().upper()
    compacte = texte.replace(" ", "")
    if est_id_parcelle(compacte):
        return compacte
    if m := _MOTIF_ID_ABREGE.match(compacte):
        code_insee, prefixe, section, numero = m.groups()
    elif m := MOTIF_REF_PARCELLE.match(texte):
        prefixe, section, numero = m.groups()
    else:
        return None
    return composer_id_parcelle(code_insee, prefixe or "000", section.rjust(2, "0"), numero)
