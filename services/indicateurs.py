"""Indicateurs d'un territoire ou d'une commune : une seule assemblée pour l'application et la ligne de commande.

Indicateurs vectoriels par commune et bassin (:mod:`indicateurs.calcul`), ratios des villes pairs
(:mod:`indicateurs.comparaison`), indicateurs des modèles sur grille (chaleur et eau,
:func:`services.modeles.calculer_modeles_territoire`) et aides par financeur.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from donnees import cache_modeles
from donnees.config import dossier_donnees
from donnees.referentiel import couche_presente, lire_couche, lire_couche_facultative, lire_territoire
from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import STATUTS, VALIDATIONS
from indicateurs.agregats import RegistreAgrege, calculer_aides_grains, calculer_rafraichissement_grains
from indicateurs.calcul import calculer_indicateurs_communes, joindre_indicateurs_grille
from indicateurs.chaleur_abords import (
    calculer_rafraichissement_emprise,
    joindre_chaleur_abords,
    selectionner_zones_realisees,
    sommer_chaleur_abords,
)
from indicateurs.communs import (
    CODE_BASSIN,
    Filtres,
    ecarter_zones_approximatives,
    identifiants_operations,
    masque_filtres,
)
from indicateurs.comparaison import calculer_ratios_communes
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.modeles import selectionner_zones_modeles
from indicateurs.parametres import lire_parametres
from services.surfaces import calculer_surfaces_impermeables
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
        calculer_surfaces_impermeables(dossier),
        lire_couche_facultative("objectifs", dossier), lire_couche_facultative("nouvelles_surfaces", dossier))


def ajouter_ratios(table: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Ratios des villes pairs (par habitant, par hectare imperméable) ajoutés à la table par commune."""
    return calculer_ratios_communes(table, communes.set_index("code_insee")["population"])


def assembler_indicateurs_communes(operations, zones, financements, referentiel: ReferentielIndicateurs,
                                   parametres, filtres: Filtres | None = None, modeles=None,
                                   avec_grille: bool = True, avec_ratios: bool = False,
                                   registre_modeles: tuple | None = None) -> pd.DataFrame:
    """Indicateurs par commune + ligne ``bassin`` à partir du registre (déjà filtré selon les droits).

    ``operations`` : table des opérations, ou :class:`~indicateurs.agregats.RegistreAgrege` (agrégats de la
    base, avec les estimations par site ; ``zones`` et ``financements`` à ``None``) ; les sommes aux abords
    des opérations prennent alors les zones du modèle dans ``registre_modeles`` (opérations, zones), lues
    seulement si le modèle de chaleur a changé.
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
        abords = (registre_modeles if isinstance(operations, RegistreAgrege) else (operations, zones))
        table = joindre_chaleur_abords(table, calculer_sommes_abords(modeles, abords[1] if abords else None,
                                                                     abords[0] if abords else None, parametres))
    if isinstance(operations, RegistreAgrege):
        codes = [c for c in table["territoire"].astype(str) if c != CODE_BASSIN]
        emprise = calculer_rafraichissement_grains(operations, codes, filtres)
    else:
        emprise = estimer_rafraichissement_emprise(operations, zones, table, parametres, filtres)
    table["rafraichissement_emprise"] = table["territoire"].astype(str).map(emprise).to_numpy(float)
    table.attrs.update(attributs)
    return table


def estimer_rafraichissement_emprise(operations, zones, table, parametres, filtres: Filtres | None) -> pd.Series:
    """Rafraîchissement local estimé sur l'emprise des opérations **réalisées** retenues par ``filtres`` et
    leur anneau (°C), par commune de ``table`` et pour leur ensemble, calibré sur le modèle sur grille
    (:func:`indicateurs.chaleur_abords.calculer_rafraichissement_emprise`)."""
    retenues = operations.loc[masque_filtres(operations, filtres)]
    retenues = retenues[retenues["statut"].astype(str).eq(STATUTS_REALISES[0]).to_numpy(bool)]
    zones = ecarter_zones_approximatives(zones, retenues)
    zones = zones[zones["operation_id"].isin(identifiants_operations(retenues)).to_numpy(bool)]
    codes = [c for c in table["territoire"].astype(str) if c != CODE_BASSIN]
    return calculer_rafraichissement_emprise(zones, retenues, codes, parametres)


_SOMMES_ABORDS: dict[tuple, pd.DataFrame] = {}
TAILLE_CACHE_ABORDS = 4
PREFIXE_ABORDS = "abords"
VERSION_ABORDS = "abords-1"  # à changer si la table des sommes change de forme


def calculer_sommes_abords(modeles, zones, operations, parametres) -> pd.DataFrame | None:
    """Sommes par commune du rafraîchissement aux abords des opérations réalisées et de la surface sortie de
    l'îlot de chaleur (:func:`indicateurs.chaleur_abords.sommer_chaleur_abords`), ou ``None`` sans modèle.

    Zones : celles du scénario « réalisées » du modèle (opérations validées, réalisées, localisées), les mêmes
    pour tous les rôles. Gardées en mémoire et dans ``cache/abords_<clé>.npz`` (si les modèles ont un cache
    disque) par clé du modèle de chaleur (qui change avec les zones, la grille et ses paramètres) et des
    paramètres des abords : un nouveau processus les relit au lieu de les recalculer.
    """
    if modeles is None or "sans_operations" not in modeles.chaleur.t_air:
        return None
    largeur, seuil = parametres["largeur_anneau_operation_m"], parametres["seuil_ilot_chaleur_c"]
    cle = (modeles.chaleur.cle, float(largeur), float(seuil), float(parametres["t_ref_c"]))
    if cle not in _SOMMES_ABORDS:
        chemin = (cache_modeles.chemin_cache(modeles.dossier_donnees, PREFIXE_ABORDS,
                                             cache_modeles.calculer_empreinte(VERSION_ABORDS, *cle))
                  if modeles.dossier_donnees is not None else None)
        relues = cache_modeles.lire_tables_npz(chemin, PREFIXE_ABORDS) if chemin is not None else None
        if relues is not None:
            sommes = relues[PREFIXE_ABORDS]
        else:
            realisees = selectionner_zones_realisees(selectionner_zones_modeles(zones, operations))
            sommes = sommer_chaleur_abords(modeles.chaleur.t_air, modeles.occupation, realisees, largeur,
                                           parametres["t_ref_c"], seuil)
            if chemin is not None:
                cache_modeles.ecrire_tables_npz(chemin, PREFIXE_ABORDS, **{PREFIXE_ABORDS: sommes})
        _SOMMES_ABORDS[cle] = sommes
        while len(_SOMMES_ABORDS) > TAILLE_CACHE_ABORDS:
            _SOMMES_ABORDS.pop(next(iter(_SOMMES_ABORDS)))
    return _SOMMES_ABORDS[cle]


def calculer_indicateurs_territoire(dossier: Path | None = None, filtres: Filtres | None = None,
                                    avec_grille: bool = True, options_modeles: dict | None = None) -> pd.DataFrame:
    """Tous les indicateurs par commune + ligne ``bassin`` (colonnes = codes du catalogue), registre entier.

    Sans ``filtres`` : opérations réalisées (travaux terminés), comme les pages par défaut ; la projection
    (en travaux, programmées) s'obtient avec ``Filtres(statuts=...)`` explicite.

    ``avec_grille`` : ajoute chaleur et eau sur grille (quelques secondes à froid, puis lus en cache) ;
    ``options_modeles`` : passées à :func:`services.modeles.calculer_modeles_territoire` (calcul réparti).
    L'année de référence de la trajectoire est dans ``table.attrs["annee_reference"]`` ; les aides par
    financeur (montant et part, par commune et bassin) dans ``table.attrs["aides_par_financeur"]`` ; la
    sélection d'opérations (:func:`decrire_selection`) dans ``table.attrs["selection"]``.
    """
    dossier = Path(dossier) if dossier else dossier_donnees()
    filtres = Filtres(statuts=STATUTS_REALISES) if filtres is None else filtres
    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    operations, zones, financements = lire_registre(dossier)
    referentiel = lire_referentiel_indicateurs(dossier)
    modeles = None
    if avec_grille and couche_presente("occupation", dossier):
        from services.modeles import calculer_modeles_territoire

        modeles = calculer_modeles_territoire(dossier, **(options_modeles or {}))
    table = assembler_indicateurs_communes(operations, zones, financements, referentiel, parametres, filtres,
                                           modeles, avec_grille=avec_grille, avec_ratios=True)
    table.attrs["aides_par_financeur"] = calculer_aides(operations, financements, filtres)
    table.attrs["selection"] = decrire_selection(filtres, lire_territoire(dossier).get("nom", "Territoire"))
    return table


def decrire_selection(filtres: Filtres, lieu: str) -> dict:
    """Sélection d'opérations d'une table d'indicateurs, écrite dans les sorties : statuts et validations
    retenus (``None`` : tous), phrase du périmètre et ce que comptent les modèles sur grille."""
    validees = filtres.validations is not None and set(filtres.validations) == set(VALIDATIONS_MODELES)
    grille = ("Modèles sur grille (température, volumes sur grille, abords) : opérations validées et localisées, "
              "scénario « réalisées » ; « delta_t_programmees » ajoute les validées en travaux et programmées "
              "(une projection).")
    if not (validees and filtres.statuts is not None and set(filtres.statuts) == set(STATUTS_REALISES)):
        grille += " Attention : ce n'est pas la sélection des chiffres vectoriels ci-dessus."
    return {"statuts": None if filtres.statuts is None else sorted(filtres.statuts),
            "validations": None if filtres.validations is None else sorted(filtres.validations),
            "description": decrire_perimetre(lieu, filtres, validees), "modeles_sur_grille": grille}


def calculer_aides(operations, financements, filtres: Filtres | None = None) -> pd.DataFrame:
    """Aides par financeur (montant et part), par commune et pour le bassin, des opérations retenues
    (``operations`` : table des opérations, ou :class:`~indicateurs.agregats.RegistreAgrege` sans financements)."""
    if isinstance(operations, RegistreAgrege):
        grains, aides = calculer_aides_grains(operations, filtres)
        return calculer_aides_par_financeur(grains, aides, None)
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


# ------------------------------------------------------------------------------------ périmètre des chiffres

STATUTS_REALISES = ("realisee",)
# Une seule sélection pour tous les chiffres de la ligne de commande : celle des modèles sur grille (opérations
# validées par le syndicat, scénario « réalisées »), appliquée aussi aux chiffres vectoriels.
VALIDATIONS_MODELES = ("validee",)
SELECTION_MODELES = Filtres(statuts=STATUTS_REALISES, validations=VALIDATIONS_MODELES)



@dataclass(frozen=True)
class Perimetre:
    """Périmètre partagé par toutes les cartes de chiffres d'une page.

    ``filtres`` : filtres à passer aux indicateurs ; ``details`` : coûts et aides affichables ;
    ``lieu`` : « Bassin de Thau », « vos communes (Sète) »… ; ``legende`` : phrase complète (lieu, statuts,
    validation, autres filtres) à afficher sous les cartes.
    """

    filtres: Filtres
    details: bool
    lieu: str
    legende: str


def statuts_non_comptes(filtres: Filtres) -> tuple[str, ...]:
    """Statuts laissés de côté par ``filtres`` (ex. en travaux et programmées quand seules les réalisées
    sont retenues) : ceux d'une carte « projection » à part."""
    retenus = set(STATUTS) if filtres.statuts is None else set(filtres.statuts)
    return tuple(s for s in STATUTS if s not in retenus)


def nommer_statuts(statuts) -> str:
    """Statuts au pluriel, du plus avancé au moins avancé : « en travaux et programmées »."""
    libelles = [STATUTS[s].lower() + ("s" if STATUTS[s].endswith("e") else "")
                for s in reversed(list(STATUTS)) if s in set(statuts)]
    return ", ".join(libelles[:-1]) + (" et " if len(libelles) > 1 else "") + libelles[-1] if libelles else ""


def decrire_statuts(filtres: Filtres) -> str:
    """« opérations réalisées (travaux terminés) », « opérations de tous statuts (… projection comprise) »…"""
    if filtres.statuts is not None and set(filtres.statuts) == set(STATUTS_REALISES):
        return "opérations réalisées (travaux terminés)"
    if filtres.statuts is None or set(filtres.statuts) == set(STATUTS):
        return ("opérations de tous statuts : réalisées, en travaux et programmées additionnées "
                "(projection comprise)")
    if not filtres.statuts:
        return "aucun statut retenu"
    futur = " (projection comprise)" if set(filtres.statuts) - set(STATUTS_REALISES) else ""
    return f"opérations {nommer_statuts(filtres.statuts)}{futur}"


def decrire_perimetre(lieu: str, filtres: Filtres, validees_seulement: bool,
                      noms_types: dict | None = None) -> str:
    """Légende d'un périmètre : « Périmètre : Bassin de Thau · opérations réalisées (travaux terminés) ·
    validées · années 2019 à 2024 ». ``validees_seulement`` : l'utilisateur ne voit (ou ne compte) que les
    opérations validées."""
    morceaux = [f"Périmètre : {lieu}", decrire_statuts(filtres)]
    if validees_seulement:
        morceaux.append("validées par le syndicat")
    elif filtres.validations is None or set(filtres.validations) == set(VALIDATIONS):
        morceaux.append("validées ou non (à valider et à corriger comprises)")
    else:
        morceaux.append("validation : " + ", ".join(VALIDATIONS[v].lower() for v in VALIDATIONS
                                                     if v in filtres.validations))
    if filtres.annees:
        morceaux.append(f"fin des travaux de {min(filtres.annees)} à {max(filtres.annees)}")
    if filtres.types:
        noms_types = noms_types or {}
        morceaux.append("types : " + ", ".join(noms_types.get(t, t) for t in filtres.types))
    return " · ".join(morceaux) + "."


def nommer_lieu(nom_territoire: str, codes: tuple[str, ...] | None, noms_communes: dict,
                vos_communes: bool = False) -> str:
    """« Bassin de Thau », « vos communes (Sète) » ou « Sète, Mèze » selon les communes retenues."""
    if not codes:
        return nom_territoire
    noms = ", ".join(noms_communes.get(c, c) for c in sorted(codes, key=lambda c: noms_communes.get(c, c)))
    return f"vos communes ({noms})" if vos_communes else noms
