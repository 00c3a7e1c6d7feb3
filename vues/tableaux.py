"""Tableaux lisibles : en-têtes en français (catalogue), codes remplacés par leurs libellés."""

from __future__ import annotations

import pandas as pd

from donnees.format import formater_horodatage, formater_nombre
from donnees.nomenclatures import STATUTS, VALIDATIONS, lire_types_site
from indicateurs.catalogue import COLONNES_IDENTIFIANTS, lire_catalogue, titre_axe
from indicateurs.potentiel import CLASSES_POTENTIEL

LIBELLES_CODES = {"type_site": lire_types_site, "statut": lambda: STATUTS, "validation": lambda: VALIDATIONS}


def traduire_codes(table: pd.DataFrame) -> pd.DataFrame:
    """Copie où type de site, statut et validation sont remplacés par leurs libellés français."""
    table = table.copy()
    for colonne, libelles in LIBELLES_CODES.items():
        if colonne in table.columns:
            correspondance = libelles()
            table[colonne] = table[colonne].map(lambda v, c=correspondance: c.get(v, v))
    return table


def titrer_colonnes(table: pd.DataFrame, libelles: dict[str, str] | None = None) -> pd.DataFrame:
    """Copie aux en-têtes français : « Libellé (unité) » pour les indicateurs du catalogue."""
    catalogue = lire_catalogue()
    noms = {}
    for colonne in table.columns:
        if libelles and colonne in libelles:
            noms[colonne] = libelles[colonne]
        elif colonne in catalogue.index:
            noms[colonne] = titre_axe(colonne)
        elif colonne in COLONNES_IDENTIFIANTS:
            noms[colonne] = COLONNES_IDENTIFIANTS[colonne]
    return table.rename(columns=noms)


def arrondir_indicateurs(table: pd.DataFrame) -> pd.DataFrame:
    """Copie où chaque indicateur du catalogue est arrondi à ses décimales d'affichage."""
    catalogue = lire_catalogue()
    table = table.copy()
    for colonne in table.columns:
        if colonne in catalogue.index and pd.api.types.is_float_dtype(table[colonne]):
            table[colonne] = table[colonne].round(int(catalogue.loc[colonne, "decimales"]))
    return table


def preparer_tableau(table: pd.DataFrame, colonnes: list[str], libelles: dict[str, str] | None = None) -> pd.DataFrame:
    """Colonnes choisies, arrondies, codes traduits, en-têtes français : prêt pour l'affichage ou l'export."""
    return titrer_colonnes(traduire_codes(arrondir_indicateurs(table[colonnes])), libelles)


# Navigateur et système lus dans l'agent utilisateur déclaré (information d'affichage, jamais une preuve) : premier
# motif trouvé, dans cet ordre (Edge et Opera se déclarent aussi « Chrome », Chrome se déclare aussi « Safari »).
NAVIGATEURS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
               ("Safari/", "Safari"))
SYSTEMES = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def decrire_navigateur(agent) -> str:
    """« Firefox sous Linux » d'après l'agent utilisateur ; « inconnu » sans agent reconnu."""
    if not isinstance(agent, str) or not agent:
        return "inconnu"
    navigateur = next((nom for motif, nom in NAVIGATEURS if motif in agent), None)
    systeme = next((nom for motif, nom in SYSTEMES if motif in agent), None)
    if navigateur and systeme:
        return f"{navigateur} sous {systeme}"
    return navigateur or systeme or "autre"


def tableau_sessions(sessions: list[dict], marquer_courante: bool = True) -> pd.DataFrame:
    """Sessions ouvertes (voir ``donnees.sessions.lister_sessions``) en tableau : navigateur (« (cette session) »
    pour la courante si ``marquer_courante``), début, dernière activité et expiration en heure de Paris. Le
    navigateur vient en premier : c'est lui qui reste visible sur un écran étroit. Jamais le jeton."""
    colonnes = ["Navigateur", "Début", "Dernière activité", "Expiration"]
    lignes = [[decrire_navigateur(s.get("agent")) + (" (cette session)" if marquer_courante and s.get("courante")
                                                     else ""),
               formater_horodatage(s["debut"]), formater_horodatage(s["derniere_activite"]),
               formater_horodatage(s["expiration"])] for s in sessions]
    return pd.DataFrame(lignes, columns=colonnes)


def tableau_potentiel(potentiel: pd.DataFrame, nombre: int) -> pd.DataFrame:
    """Les ``nombre`` parcelles (ou îlots, colonne ``ilot``) au plus fort score de potentiel, exclues à part :
    identifiant, classe, score (0–100), gisement (m² imperméables non bâtis) et motifs, en français."""
    par_ilot = "ilot" in potentiel.columns
    identifiant = "ilot" if par_ilot else "id"
    gisement = "surface_impermeable_non_batie_ilot" if par_ilot else "surface_impermeable_non_batie_parcelle"
    premieres = potentiel.sort_values(["score_potentiel", identifiant], ascending=[False, True],
                                      na_position="last", kind="stable").head(nombre)
    return pd.DataFrame({
        "Îlot" if par_ilot else "Parcelle": premieres[identifiant].astype(str).to_numpy(),
        "Potentiel": [CLASSES_POTENTIEL.get(c, c) for c in premieres["classe_potentiel"]],
        "Score (0–100)": [formater_nombre(float(v), 0) if pd.notna(v) else "—" for v in premieres["score_potentiel"]],
        "Gisement (m²)": [formater_nombre(float(v), 0) if pd.notna(v) else "—" for v in premieres[gisement]],
        "Motifs": premieres["motifs"].astype(str).to_numpy()})
