"""Indicateurs d'un territoire ou d'une commune : une seule assemblée pour l'application et la ligne de commande.

Indicateurs vectoriels par commune et bassin (:mod:`indicateurs.calcul`), ratios des villes pairs
(:mod:`indicateurs.comparaison`), indicateurs des modèles sur grille (chaleur et eau,
:func:`services.modeles.calculer_modeles_territoire`) et aides par financeur.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from donnees.config import dossier_donnees
from donnees.referentiel import couche_presente, lire_couche, lire_couche_facultative, lire_territoire
from donnees.erreurs import ErreurDonnees
from indicateurs.calcul import calculer_indicateurs_communes, joindre_indicateurs_grille
from indicateurs.communs import CODE_BASSIN, Filtres
from indicateurs.comparaison import calculer_ratios_communes
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.parametres import lire_parametres
from indicateurs.surfaces import calculer_surface_impermeable_communes
from services.magasin import lire_registre


@dataclass(frozen=True)
class ReferentielIndicateurs:
    """Couches du référentiel qu'utilisent les indicateurs par commune."""

    communes: pd.DataFrame
    surfaces_impermeables: pd.DataFrame
    objectifs: pd.DataFrame
    nouvelles_surfaces: pd.DataFrame


def lire_referentiel_indicateurs(dossier: Path) -> ReferentielIndicateurs:
    """Couches du dossier de données (couches facultatives absentes : tables vides)."""
    return ReferentielIndicateurs(
        lire_couche("communes", dossier),
        calculer_surface_impermeable_communes(lire_couche_facultative("occupation", dossier)),
        lire_couche_facultative("objectifs", dossier), lire_couche_facultative("nouvelles_surfaces", dossier))


def ajouter_ratios(table: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Ratios des villes pairs (par habitant, par hectare imperméable) ajoutés à la table par commune."""
    return calculer_ratios_communes(table, communes.set_index("code_insee")["population"])


def assembler_indicateurs_communes(operations, zones, financements, referentiel: ReferentielIndicateurs,
                                   parametres, filtres: Filtres | None = None, modeles=None,
                                   avec_grille: bool = True, avec_ratios: bool = False) -> pd.DataFrame:
    """Indicateurs par commune + ligne ``bassin`` à partir du registre (déjà filtré selon les droits).

    ``modeles`` : résultats de :func:`services.modeles.calculer_modeles_territoire`, ou ``None`` (territoire
    sans occupation du sol : colonnes de grille vides) ; ``avec_grille`` faux : sans colonnes de grille.
    ``table.attrs["annee_reference"]`` : année de référence de la trajectoire.
    """
    table = calculer_indicateurs_communes(
        operations, zones, financements, referentiel.communes, referentiel.surfaces_impermeables,
        referentiel.objectifs, referentiel.nouvelles_surfaces, parametres, filtres)
    attributs = dict(table.attrs)
    if avec_ratios:
        table = ajouter_ratios(table, referentiel.communes)
    if avec_grille:
        table = joindre_indicateurs_grille(table, modeles.chaleur.communes if modeles else None,
                                           modeles.eau_communes if modeles else None)
    table.attrs.update(attributs)
    return table


def calculer_indicateurs_territoire(dossier: Path | None = None, filtres: Filtres | None = None,
                                    avec_grille: bool = True) -> pd.DataFrame:
    """Tous les indicateurs par commune + ligne ``bassin`` (colonnes = codes du catalogue), registre entier.

    ``avec_grille`` : ajoute chaleur et eau sur grille (quelques secondes à froid, puis lus en cache).
    L'année de référence de la trajectoire est dans ``table.attrs["annee_reference"]`` ; les aides par
    financeur (montant et part, par commune et bassin) dans ``table.attrs["aides_par_financeur"]``.
    """
    dossier = Path(dossier) if dossier else dossier_donnees()
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    operations, zones, financements = lire_registre(dossier)
    referentiel = lire_referentiel_indicateurs(dossier)
    modeles = None
    if avec_grille and couche_presente("occupation", dossier):
        from services.modeles import calculer_modeles_territoire

        modeles = calculer_modeles_territoire(dossier)
    table = assembler_indicateurs_communes(operations, zones, financements, referentiel, parametres, filtres,
                                           modeles, avec_grille=avec_grille, avec_ratios=True)
    table.attrs["aides_par_financeur"] = calculer_aides(operations, financements, filtres)
    return table


def calculer_aides(operations, financements, filtres: Filtres | None = None) -> pd.DataFrame:
    """Aides par financeur (montant et part), par commune et pour le bassin, des opérations retenues."""
    return calculer_aides_par_financeur(operations, financements, filtres)


def garder_communes(table: pd.DataFrame, codes) -> pd.DataFrame:
    """Lignes des communes ``codes`` et ligne du bassin (attributs gardés) ; code inconnu → ErreurDonnees."""
    inconnues = sorted(set(codes) - set(table["territoire"]))
    if inconnues:
        raise ErreurDonnees(f"commune(s) inconnue(s) dans le territoire : {', '.join(inconnues)}.", "commune")
    return table[table["territoire"].isin([*codes, CODE_BASSIN])]


def extraire_commune(table: pd.DataFrame, code: str) -> tuple[pd.Series, pd.Series]:
    """Ligne de la commune ``code`` et ligne du bassin d'une table d'indicateurs par commune."""
    parterritoire = table.set_index("territoire")
    return parterritoire.loc[code], parterritoire.loc[CODE_BASSIN]
