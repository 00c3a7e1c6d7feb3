"""Indicateurs additifs tirés des agrégats du registre calculés par la base (:mod:`donnees.magasin.agregats`).

Le magasin rend des sommes par « grain » (commune, année, statut, type de site, validation) ; ce module en
fait la même table que celle des opérations retenues de :mod:`indicateurs.calcul` (une ligne par grain au lieu
d'une ligne par opération, mêmes colonnes additives), en appliquant les mêmes formules (:mod:`indicateurs.surfaces`,
:mod:`indicateurs.eau`). Les sommes par commune, par année, par statut ou par type de site sont donc les mêmes
(à l'arrondi des sommes flottantes près) que celles du calcul opération par opération.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from donnees.erreurs import ErreurDonnees
from indicateurs.chaleur_abords import moyenner_rafraichissement
from indicateurs.communs import Filtres, diviser, lire_revetements_defaut, masque_filtres
from indicateurs.eau import ajouter_volume_stockage, calculer_volume_abattu, calculer_volume_retenu
from indicateurs.finances import AUXILIAIRES_COUT_CONNU
from indicateurs.surfaces import calculer_surface_active_deconnectee, calculer_surface_desimpermeabilisee

GRAIN = ["code_insee", "annee", "statut", "type_site", "validation"]


@dataclass(frozen=True, eq=False)
class RegistreAgrege:
    """Agrégats du registre vus par un utilisateur (tables de :meth:`donnees.magasin.Magasin.agreger_registre`).

    Tient lieu de table des opérations pour :mod:`indicateurs.calcul` (communes, années, groupes) ; ``operations``
    porte les colonnes du grain (``annee``, ``statut``…), comme une table d'opérations.
    """

    operations: pd.DataFrame
    revetements: pd.DataFrame
    financeurs: pd.DataFrame
    sites: pd.DataFrame | None = None  # estimations de rafraîchissement sommées par grain (réalisées)


def coefficients_revetements(revetements: pd.DataFrame | None = None) -> tuple[dict[str, float], list[str]]:
    """Coefficient de ruissellement par code de revêtement et codes imperméables (``revetements.csv``), à
    donner au magasin pour ses sommes pondérées."""
    table = lire_revetements_defaut(revetements)
    coefficients = {str(code): float(c) for code, c in table["c_ruissellement"].items()}
    impermeables = [str(code) for code, oui in table["impermeable"].astype(bool).items() if oui]
    return coefficients, impermeables


def _zones_equivalentes(revetements: pd.DataFrame) -> pd.DataFrame:
    """Une « zone » par ligne d'agrégat : surface Σ S, coefficients moyens pondérés par la surface (S × C̄ = Σ S·C),
    pour appliquer telles quelles les formules par zone."""
    inconnues = int(revetements["zones_inconnues"].sum()) if len(revetements) else 0
    if inconnues:
        raise ErreurDonnees(f"Zones : {inconnues} zone(s) de revêtement inconnu (absent de revetements.csv). "
                            "Corrigez leur revêtement avant ou après.", "zone", "revetement_avant")
    surface = revetements["surface_m2"].to_numpy(float)
    return revetements.assign(c_avant=diviser(revetements["surface_c_avant"].to_numpy(float), surface),
                              c_apres=diviser(revetements["surface_c_apres"].to_numpy(float), surface))


def calculer_grains(registre: RegistreAgrege, parametres: dict, filtres: Filtres | None) -> pd.DataFrame:
    """Table additive par grain retenu par ``filtres`` : mêmes colonnes additives que la table des opérations
    de :mod:`indicateurs.calcul` (``nombre_operations``, surfaces, volumes, coûts, aides, colonnes auxiliaires
    des rapports financiers)."""
    zones = _zones_equivalentes(registre.revetements.loc[masque_filtres(registre.revetements, filtres)])
    connu = zones["cout_connu"].to_numpy(bool)
    desimpermeabilisee = calculer_surface_desimpermeabilisee(zones).to_numpy(float)
    volume = np.nan_to_num(calculer_volume_retenu(zones, parametres["pluie_annuelle_mm"]).to_numpy(float))
    par_zone = pd.DataFrame({
        **{c: zones[c].to_numpy() for c in GRAIN},
        "surface_zones": zones["surface_m2"].to_numpy(float),
        "surface_desimpermeabilisee": desimpermeabilisee,
        "surface_active_deconnectee": np.nan_to_num(calculer_surface_active_deconnectee(zones).to_numpy(float)),
        "volume_infiltre": volume,
        "volume_abattu_pluie_reference": np.nan_to_num(
            calculer_volume_abattu(zones, parametres["pluie_reference_mm"]).to_numpy(float)),
        AUXILIAIRES_COUT_CONNU["surface_desimpermeabilisee"]: np.where(connu, desimpermeabilisee, 0.0),
        AUXILIAIRES_COUT_CONNU["volume_infiltre"]: np.where(connu, volume, 0.0),
    })
    sommes = par_zone.groupby(GRAIN, dropna=False).sum().reset_index()
    operations = registre.operations.loc[masque_filtres(registre.operations, filtres)]
    operations = operations.rename(columns={"aides_cout_connu": AUXILIAIRES_COUT_CONNU["montant_aides"]})
    table = operations.merge(sommes, on=GRAIN, how="left", validate="one_to_one")
    for colonne in sommes.columns.difference(GRAIN):
        table[colonne] = table[colonne].fillna(0.0).to_numpy(float)
    table["volume_abattu_pluie_reference"] = ajouter_volume_stockage(table["volume_abattu_pluie_reference"],
                                                                     table["volume_stockage"])
    table["nombre_operations"] = table["nombre_operations"].astype(np.int64)
    table["nombre_operations_cout_connu"] = table["nombre_operations_cout_connu"].astype(np.int64)
    table["nombre_ecarts_signales"] = table["nombre_ecarts_signales"].astype(np.int64)
    table["annee"] = table["annee"].astype("Int64")
    return table.reset_index(drop=True)


def calculer_aides_grains(registre: RegistreAgrege, filtres: Filtres | None) -> pd.DataFrame:
    """Aides par financeur des grains retenus : ``operation_id`` (numéro de grain), ``financeur``,
    ``montant_eur`` et la table des grains (``id``, ``code_insee``, ``annee``), à passer à
    :func:`indicateurs.finances.calculer_aides_par_financeur`."""
    grains = registre.operations.loc[masque_filtres(registre.operations, filtres), GRAIN].reset_index(drop=True)
    grains["id"] = np.arange(len(grains))
    aides = registre.financeurs.merge(grains, on=GRAIN, how="inner")
    return grains, pd.DataFrame({"operation_id": aides["id"].to_numpy(), "financeur": aides["financeur"].to_numpy(),
                                 "montant_eur": aides["montant_aides"].to_numpy(float)})


def calculer_rafraichissement_grains(registre: RegistreAgrege, codes, filtres: Filtres | None) -> pd.Series:
    """Rafraîchissement local estimé sur l'emprise des opérations réalisées retenues par ``filtres`` (°C), par
    commune ``codes`` et pour leur ensemble, depuis les estimations par site sommées par grain
    (:func:`indicateurs.chaleur_abords.moyenner_rafraichissement`) ; sans estimations : NaN."""
    sites = registre.sites
    if sites is None:
        sites = pd.DataFrame({"code_insee": pd.Series(dtype=str), "somme_ponderee": pd.Series(dtype=float),
                              "cellules": pd.Series(dtype=float)})
    else:
        sites = sites.loc[masque_filtres(sites, filtres)]
    return moyenner_rafraichissement(sites, codes)
