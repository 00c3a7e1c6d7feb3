"""Exports : tableau des opérations (indicateurs compris) et tables d'indicateurs, en CSV, XLSX, GeoJSON ou
GeoPackage (octets prêts à télécharger ou à écrire).

Les noms de colonnes existants (catalogue des indicateurs) ne changent pas ; les champs de l'opération
déclarés ``exporte=True`` dans :mod:`donnees.modele_operation` s'y ajoutent sous leur libellé."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from donnees.config import dossier_donnees
from donnees.droits import lire_noms_communes
from donnees.modele_operation import champs_exportes, libelle_colonne
from donnees.export import TYPES_MIME, exporter_csv, exporter_geojson, exporter_geopackage, exporter_xlsx
from donnees.referentiel import lire_territoire
from indicateurs.calcul import calculer_indicateurs_operations
from indicateurs.communs import Filtres, masque_filtres
from indicateurs.parametres import lire_parametres
from services.magasin import lire_registre
from vues.tableaux import preparer_tableau

__all__ = ["COLONNES_EXPORT", "FORMATS", "TYPES_MIME", "exporter_operations", "exporter_registre", "exporter_table",
           "lire_noms_communes", "ajouter_colonne_commune"]

COLONNES_EXPORT = ["operation_id", "code_insee", "commune", "nom", "type_site", "statut", "validation", "annee",
                   "surface_zones",
                   "surface_desimpermeabilisee", "volume_infiltre", "cout_total_ht", "montant_aides", "taux_aide",
                   "cout_par_m2"]
FORMATS = ("csv", "xlsx", "geojson", "gpkg")


def exporter_table(table: pd.DataFrame, format_fichier: str, feuille: str = "données") -> bytes:
    """Table en CSV (pour Excel en français) ou XLSX."""
    if format_fichier == "csv":
        return exporter_csv(table)
    if format_fichier == "xlsx":
        return exporter_xlsx(table, feuille)
    raise ValueError(f"Format d'export de table inconnu : {format_fichier} (csv ou xlsx).")


def _ajouter_champs_exportes(par_operation: pd.DataFrame, operations: pd.DataFrame | None) -> list[str]:
    """Champs de l'opération déclarés exportés (``modele_operation.champs_exportes``) et présents dans
    ``operations`` (un champ masqué au public en est absent) : copiés dans ``par_operation``."""
    if operations is None:
        return []
    presents = [nom for nom in champs_exportes() if nom in operations.columns and nom not in par_operation.columns]
    if presents:
        valeurs = pd.DataFrame(operations[["id", *presents]]).set_index("id")
        for nom in presents:
            par_operation[nom] = par_operation["operation_id"].map(valeurs[nom])
    return presents


def _masquer_aides(par_operation: pd.DataFrame, operations: pd.DataFrame | None) -> pd.DataFrame:
    """Montant des aides vide (pas zéro) pour les opérations dont les aides sont masquées à l'utilisateur.

    Les droits (:func:`donnees.droits.filtrer_operations`) retirent la colonne ``montant_aides_eur`` pour le
    public et la vident pour les opérations hors des communes d'un référent ; leurs financements sont
    aussi retirés, si bien que le calcul trouverait 0 € : masqué veut dire absent, pas zéro."""
    if operations is None or "montant_aides" not in par_operation.columns:
        return par_operation
    if "montant_aides_eur" in operations.columns:
        masquees = set(pd.to_numeric(operations.loc[operations["montant_aides_eur"].isna(), "id"]).astype(int))
    else:
        masquees = set(pd.to_numeric(operations["id"]).astype(int))
    table = par_operation.copy()
    table.loc[table["operation_id"].astype(int).isin(masquees).to_numpy(), "montant_aides"] = float("nan")
    return table


def ajouter_colonne_commune(par_operation: pd.DataFrame, noms_communes: Mapping[str, str] | None) -> pd.DataFrame:
    """Copie avec la colonne ``commune`` (nom) juste après ``code_insee`` ; vide si le nom est inconnu, gardée si
    elle existe déjà."""
    table = par_operation.copy()
    if "commune" in table.columns or "code_insee" not in table.columns:
        return table
    noms = table["code_insee"].astype(str).map(dict(noms_communes or {}))
    table.insert(table.columns.get_loc("code_insee") + 1, "commune", noms)
    return table


def exporter_operations(par_operation: pd.DataFrame, operations: pd.DataFrame | None, format_fichier: str,
                        noms_communes: Mapping[str, str] | None = None) -> bytes:
    """Opérations retenues au format demandé : tableau (CSV, XLSX) ou couche (GeoJSON, GeoPackage).

    ``par_operation`` : indicateurs par opération (:func:`indicateurs.calcul.calculer_indicateurs_operations`) ;
    ``operations`` : les mêmes opérations avec leur géométrie (pour les formats géographiques) et les champs
    déclarés exportés, ajoutés sous leur libellé après :data:`COLONNES_EXPORT` ; ``noms_communes`` : nom par
    code INSEE (:func:`donnees.droits.lire_noms_communes`), écrit dans la colonne ``commune`` à côté du code.
    """
    par_operation = _masquer_aides(ajouter_colonne_commune(par_operation, noms_communes), operations)
    ajoutes = _ajouter_champs_exportes(par_operation, operations)
    colonnes = COLONNES_EXPORT + ajoutes
    if format_fichier in ("csv", "xlsx"):
        libelles = {"commune": "Commune", **{nom: libelle_colonne(nom) for nom in ajoutes}}
        return exporter_table(preparer_tableau(par_operation, colonnes, libelles), format_fichier, "opérations")
    geographique = operations[["id", "geometry"]].rename(columns={"id": "operation_id"}).merge(
        par_operation[colonnes], on="operation_id")
    return exporter_geojson(geographique) if format_fichier == "geojson" else exporter_geopackage(geographique)


def exporter_registre(format_fichier: str, dossier: Path | None = None, filtres: Filtres | None = None) -> bytes:
    """Opérations du registre entier retenues par ``filtres`` (indicateurs compris), au format demandé
    (ligne de commande : mêmes colonnes et mêmes calculs que le téléchargement de l'application)."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    operations, zones, financements = lire_registre(dossier)
    par_operation = calculer_indicateurs_operations(operations, zones, financements, parametres, filtres)
    return exporter_operations(par_operation, operations.loc[masque_filtres(operations, filtres)], format_fichier,
                               lire_noms_communes(dossier))
