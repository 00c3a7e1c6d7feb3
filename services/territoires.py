"""Chiffres clés d'un territoire de l'instance, pour la vue inter-territoires (page « Territoires »).

Mêmes calculs que la Vue d'ensemble (:func:`services.indicateurs.assembler_indicateurs_communes`, codes et
libellés du catalogue), sur la sélection commune à tous les territoires : opérations réalisées et validées
(:data:`services.indicateurs.SELECTION_MODELES`), registre lu avec les droits de l'utilisateur **dans ce
territoire** (:mod:`donnees.droits.territoires`). Sans modèles sur grille : chiffres vectoriels seulement.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from donnees.comptes import Utilisateur
from donnees.config import dans_territoire
from donnees.droits import filtrer_financements, filtrer_operations
from donnees.droits.territoires import montants_visibles
from donnees.erreurs import ErreurDonnees
from donnees.instance import TerritoireInstance
from donnees.referentiel import lire_couche, lire_couche_facultative, lire_territoire
from indicateurs.communs import CODE_BASSIN
from indicateurs.parametres import lire_parametres
from services.indicateurs import (
    SELECTION_MODELES,
    ReferentielIndicateurs,
    assembler_indicateurs_communes,
    calculer_aides,
)
from services.magasin import lire_registre

# Codes du catalogue montrés pour chaque territoire : publics, puis montants (réservés).
CHIFFRES_PUBLICS = ("surface_desimpermeabilisee", "nombre_operations", "volume_infiltre", "taux_atteinte_objectif")
CHIFFRES_MONTANTS = ("cout_total_ht", "montant_aides", "taux_aide")


@dataclass(frozen=True)
class ChiffresTerritoire:
    """Chiffres d'un territoire : ``chiffres`` (code du catalogue → valeur), ``montants`` (idem, None s'ils ne
    sont pas visibles), ``aides`` (montant et part par financeur, None s'ils ne sont pas visibles), ``erreur`` :
    message français si le territoire ne se lit pas."""

    code: str
    nom: str
    communes: int
    demo: bool
    chiffres: dict
    montants: dict | None = None
    aides: pd.DataFrame | None = None
    erreur: str | None = None
    scenarios: pd.DataFrame | None = None  # chiffres de tête des scénarios lisibles (None : aucun droit)


def calculer_chiffres_territoire(territoire: TerritoireInstance, utilisateur: Utilisateur) -> ChiffresTerritoire:
    """Chiffres clés de ``territoire`` vus par ``utilisateur`` (son compte dans ce territoire) ; un territoire
    illisible (dossier vide, couche fautive) donne un message au lieu de chiffres."""
    with dans_territoire(territoire.actif):
        try:
            description = lire_territoire(territoire.dossier)
            operations, zones, financements = lire_registre(territoire.dossier)
            dossier = territoire.dossier
            referentiel = ReferentielIndicateurs(lire_couche("communes", dossier), None,
                                                 lire_couche_facultative("objectifs", dossier),
                                                 lire_couche_facultative("nouvelles_surfaces", dossier))
        except ErreurDonnees as erreur:
            return ChiffresTerritoire(territoire.code, territoire.nom, 0, False, {}, erreur=str(erreur))
    visibles = filtrer_operations(utilisateur, operations)
    zones = zones[zones["operation_id"].isin(visibles["id"]).to_numpy(bool)]
    financements = filtrer_financements(utilisateur, financements, visibles)
    table = assembler_indicateurs_communes(visibles, zones, financements, referentiel,
                                           lire_parametres(description.get("parametres")), SELECTION_MODELES,
                                           avec_grille=False)
    bassin = table.set_index("territoire").loc[CODE_BASSIN]
    chiffres = {code: float(bassin[code]) for code in CHIFFRES_PUBLICS}
    montants = aides = None
    if montants_visibles(utilisateur):
        montants = {code: float(bassin[code]) for code in CHIFFRES_MONTANTS}
        aides = calculer_aides(visibles, financements, SELECTION_MODELES)
        aides = aides[aides["territoire"].eq(CODE_BASSIN).to_numpy(bool)].drop(columns="territoire")
    scenarios = _resumer_scenarios_territoire(territoire, utilisateur, operations, zones, financements,
                                              lire_parametres(description.get("parametres")), montants is not None)
    return ChiffresTerritoire(territoire.code, territoire.nom, len(description["codes_insee"]),
                              bool(description.get("demo")), chiffres, montants, aides, scenarios=scenarios)


def _resumer_scenarios_territoire(territoire: TerritoireInstance, utilisateur: Utilisateur, operations, zones,
                                  financements, parametres, avec_couts: bool) -> pd.DataFrame | None:
    """Scénarios du territoire lisibles par l'utilisateur (:mod:`donnees.droits.scenarios`) et leurs chiffres de
    tête (:func:`services.scenarios.resumer_scenarios`) ; None s'il ne peut pas les lire."""
    from donnees.droits import MagasinProtege
    from services.magasin import ouvrir_magasin
    from services.scenarios import resumer_scenarios

    with dans_territoire(territoire.actif), ouvrir_magasin(territoire.dossier) as magasin:
        magasin.creer_tables()
        facade = MagasinProtege(magasin, utilisateur)
        if not facade.peut("lire_scenarios"):
            return None
        lisibles = facade.lire_scenarios()
        scenarios = [(nom, facade.lire_sites_scenario(int(i))) for i, nom in zip(lisibles["id"], lisibles["nom"])]
    return resumer_scenarios(scenarios, operations, zones, financements, parametres, avec_couts)
