"""Fiches d'opération en HTML (fenêtres des cartes, page imprimable), rendues par des gabarits Jinja2.

Les gabarits sont dans ``vues/gabarits/`` ; l'échappement automatique (``autoescape``) échappe tout texte
saisi. Les mêmes gabarits serviront aux rapports PDF.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import pandas as pd

from donnees.nomenclatures import STATUTS, lire_types_site
from indicateurs.catalogue import codes_geometriques, formater_valeur

DOSSIER_GABARITS = Path(__file__).resolve().parent / "gabarits"
CHIFFRES_FICHE = ["surface_desimpermeabilisee", "volume_infiltre", "cout_total_ht", "taux_aide"]
LIBELLES_FICHE = {"surface_desimpermeabilisee": "Désimperméabilisé", "volume_infiltre": "Retenu en plus",
                  "cout_total_ht": "Coût HT", "taux_aide": "Aides"}
TITRES_IMPRIMABLE = {"surface_desimpermeabilisee": "Surface désimperméabilisée",
                     "volume_infiltre": "Volume retenu en plus (infiltration + évapotranspiration)",
                     "cout_total_ht": "Coût HT",
                     "taux_aide": "Taux d'aide"}
SECTIONS_IMPRIMABLE = (("Description", "description"), ("Retour d'expérience", "retour_experience"),
                       ("Contact", "contact"))


@lru_cache(maxsize=1)
def lire_environnement() -> jinja2.Environment:
    """Environnement Jinja2 des gabarits, échappement automatique de tout texte."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(DOSSIER_GABARITS), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


def rendre_gabarit(gabarit: str, /, **valeurs) -> str:
    """Rend ``vues/gabarits/<gabarit>`` avec ``valeurs`` (texte échappé)."""
    return lire_environnement().get_template(gabarit).render(**valeurs)


def _est_approximative(operation: pd.Series) -> bool:
    """Vrai si l'opération est placée au centre de sa commune faute de géométrie (valeur absente : faux)."""
    valeur = operation.get("localisation_approximative", False)
    return bool(valeur) if valeur is not None and not pd.isna(valeur) else False


def _lire_annee(operation: pd.Series) -> int | None:
    annee = operation.get("annee")
    return int(annee) if annee is not None and not pd.isna(annee) else None


def _lister_chiffres(operation: pd.Series, indicateurs: pd.Series | None, libelles: dict[str, str]) -> list:
    """(libellé, valeur formatée) des chiffres connus ; ceux tirés des zones sont omis pour une opération à
    localisation approximative (inconnus, pas nuls)."""
    if indicateurs is None:
        return []
    omis = set(codes_geometriques()) if _est_approximative(operation) else set()
    return [(libelles[code], formater_valeur(code, indicateurs[code])) for code in CHIFFRES_FICHE
            if code not in omis and code in indicateurs.index and not pd.isna(indicateurs[code])]


def construire_fiche_html(operation: pd.Series, indicateurs: pd.Series | None, vignette: str | None,
                          lien: str | None) -> str:
    """Fiche courte : nom, type, statut, année, chiffres clés, vignette « après » et lien vers la fiche."""
    types = lire_types_site()
    annee = _lire_annee(operation)
    sous_titre = [morceau for morceau in (types.get(operation["type_site"], str(operation["type_site"])),
                                          STATUTS.get(operation["statut"], str(operation["statut"])),
                                          str(annee) if annee is not None else None) if morceau]
    return rendre_gabarit("fiche_carte.html.j2", nom=str(operation["nom"]), sous_titre=sous_titre,
                          approximative=_est_approximative(operation), vignette=vignette,
                          chiffres=_lister_chiffres(operation, indicateurs, LIBELLES_FICHE), lien=lien)


def construire_fiche_imprimable(operation: pd.Series, commune: str, indicateurs: pd.Series | None,
                                photos: list[tuple[str, str, str]]) -> str:
    """Page HTML autonome et imprimable d'une opération (textes échappés, photos en data URI).

    ``photos`` : liste de (moment, légende, data URI).
    """
    def texte(champ: str) -> str:
        valeur = operation.get(champ)
        return str(valeur) if isinstance(valeur, str) and valeur.strip() else ""

    return rendre_gabarit(
        "fiche_imprimable.html.j2", nom=texte("nom"), commune=commune,
        type_site=lire_types_site().get(operation.get("type_site"), ""), annee=_lire_annee(operation),
        approximative=_est_approximative(operation), photos=photos,
        chiffres=_lister_chiffres(operation, indicateurs, TITRES_IMPRIMABLE),
        sections=[(titre, texte(champ)) for titre, champ in SECTIONS_IMPRIMABLE if texte(champ)])
