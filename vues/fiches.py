"""Fiches d'opération en HTML pour les fenêtres des cartes : tout texte saisi est échappé."""

from __future__ import annotations

import html

import pandas as pd

from donnees.nomenclatures import STATUTS, lire_types_site
from indicateurs.catalogue import formater_valeur

CHIFFRES_FICHE = ["surface_desimpermeabilisee", "volume_infiltre", "cout_total_ht", "taux_aide"]


def construire_fiche_html(operation: pd.Series, indicateurs: pd.Series | None, vignette: str | None,
                          lien: str | None) -> str:
    """Fiche courte : nom, type, statut, année, chiffres clés, vignette « après » et lien vers la fiche."""
    types = lire_types_site()
    nom = html.escape(str(operation["nom"]))
    annee = operation.get("annee")
    sous_titre = " · ".join(filter(None, [
        html.escape(types.get(operation["type_site"], str(operation["type_site"]))),
        html.escape(STATUTS.get(operation["statut"], str(operation["statut"]))),
        str(int(annee)) if annee is not None and not pd.isna(annee) else None]))
    lignes = []
    if indicateurs is not None:
        for code in CHIFFRES_FICHE:
            if code in indicateurs.index and not pd.isna(indicateurs[code]):
                libelle = {"surface_desimpermeabilisee": "Désimperméabilisé", "volume_infiltre": "Infiltré",
                           "cout_total_ht": "Coût HT", "taux_aide": "Aides"}[code]
                lignes.append(f"<tr><td>{libelle}</td><td style='text-align:right'>"
                              f"{html.escape(formater_valeur(code, indicateurs[code]))}</td></tr>")
    image = (f"<img src='{vignette}' alt='Photo après travaux' style='width:100%;max-width:200px;"
             "border-radius:4px;margin:4px 0'>" if vignette else "")
    approximatif = ("<div style='color:#a15c00'>Localisation approximative</div>"
                    if bool(operation.get("localisation_approximative", False)) else "")
    bouton = (f"<a href='{html.escape(lien, quote=True)}' target='_top'>Voir la fiche</a>" if lien else "")
    return (f"<div class='desimper-fiche' style='font:13px/1.35 sans-serif;min-width:200px'>"
            f"<div style='font-weight:600;font-size:14px'>{nom}</div>"
            f"<div style='color:#555'>{sous_titre}</div>{approximatif}{image}"
            f"<table style='width:100%'>{''.join(lignes)}</table>{bouton}</div>")
