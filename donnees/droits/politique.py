"""Politique des droits (CONCEPTION §6) : qui peut quoi, pourquoi un refus, ce que chacun lit.

- :func:`peut` répond oui ou non ; :func:`exiger` lève :class:`ErreurDroits` avec un message en
  français qui dit pourquoi (ex. « Vous ne pouvez pas modifier une opération de Mèze (34157) : votre
  compte est rattaché à Sète (34301). »).
- :func:`filtrer_operations` et :func:`filtrer_financements` ne gardent d'une table que ce que
  l'utilisateur peut lire (colonnes masquées pour le public).
- :func:`est_public` et :func:`lire_perimetre` répondent aux pages, qui ne testent jamais un rôle.

Règles (``administrateur`` : tout) :

- public (:data:`~donnees.comptes.VISITEUR`, ou compte désactivé) : opérations validées et non
  supprimées seulement, sans les colonnes de :data:`COLONNES_MASQUEES_PUBLIC` ni les financements ;
  le maître d'ouvrage d'un site privé (``type_site = prive``) est effacé ; ni journal ni écriture ;
- financeur : lit tout (non validées, coûts, financements, contacts, journal des opérations) sauf les
  opérations supprimées et le journal des comptes ; n'écrit rien ;
- référent commune : lit les opérations validées partout (vue publique hors de ses communes) et tout
  dans ses communes ; crée, modifie et supprime dans ses communes seulement ; ne peut ni déplacer une
  opération vers une autre commune, ni valider, ni demander une correction, ni restaurer ; modifier
  une opération validée (ou à corriger) la renvoie « à valider » ; supprimer une opération validée
  lui est refusé ;
- administrateur : tout, dont valider, demander une correction (commentaire obligatoire), restaurer
  une opération supprimée, lire les opérations supprimées, gérer les comptes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from donnees import nomenclatures
from donnees.comptes import ROLE_VISITEUR, Utilisateur
from donnees.droits.communes import enumerer_communes, lire_noms_communes, nommer_commune
from donnees.erreurs import ErreurDonnees
from donnees.modele_operation import colonnes_masquees_public

# Action → fin de phrase « Vous ne pouvez pas … ».
ACTIONS = {
    "lire": "consulter une opération",
    "lire_validees": "consulter une opération validée",
    "lire_non_validees": "consulter une opération non validée",
    "lire_details": "consulter les coûts, financements et contacts d'une opération",
    "lire_supprimees": "consulter une opération supprimée",
    "lire_journal": "consulter l'historique d'une opération",
    "creer": "créer une opération",
    "modifier": "modifier une opération",
    "supprimer": "supprimer une opération",
    "restaurer": "restaurer une opération",
    "valider": "valider une opération",
    "demander_correction": "demander la correction d'une opération",
    "gerer_comptes": "gérer les comptes",
    "gerer_parametres": "modifier les objectifs, paramètres et imports",
    "lire_scenarios": "consulter les scénarios",
    "gerer_scenarios": "créer ou modifier un scénario",
    "commenter_site": "donner l'avis de la commune sur un site d'un scénario",
    "lire_echanges": "lire les échanges (questions et réponses) sous les opérations",
    "poser_question": "poser une question sous une opération",
    "repondre_fil": "répondre aux questions sous une opération",
    "moderer_echanges": "masquer ou restaurer un message des échanges",
    "suivre_fil": "suivre un fil d'échanges",
    "lire_notifications": "consulter vos notifications",
    # Ressources (issue 16, partie 1 ; donnees/droits/ressources.py).
    "lire_ressources_membres": "consulter les auteurs des ressources et les échéances proches des appels à projets",
    "creer_ressource": "déposer une ressource",
    "modifier_ressource": "modifier ou supprimer une ressource",
    "lier_ressource": "lier une ressource à une opération",
    "moderer_ressources": "masquer ou restaurer une ressource",
    "suivre_theme": "suivre un thème des ressources",
    # Annuaire et pairs (issue 16, partie 4 ; voir donnees/droits/annuaire.py)
    "lire_annuaire": "consulter l'annuaire des membres",
    "gerer_fiche_annuaire": "gérer votre fiche dans l'annuaire",
    "moderer_annuaire": "masquer ou rétablir une fiche de l'annuaire",
}
ACTIONS_ECRITURE = ("creer", "modifier", "supprimer", "restaurer", "valider", "demander_correction",
                    "gerer_comptes", "gerer_parametres", "gerer_scenarios", "commenter_site",
                    "poser_question", "repondre_fil", "moderer_echanges",
                    "creer_ressource", "modifier_ressource", "lier_ressource", "moderer_ressources")
ACTIONS_COMMUNE = ("lire_non_validees", "lire_details", "lire_journal", "creer", "modifier", "supprimer",
                   "commenter_site", "repondre_fil")
ACTIONS_ADMINISTRATEUR = ("lire_supprimees", "restaurer", "valider", "demander_correction", "gerer_comptes",
                          "gerer_parametres", "gerer_scenarios", "moderer_echanges",
                          "moderer_ressources")
# Agenda de la communauté (issue 16, partie 3 ; tableau des droits : donnees/droits/agenda.py). Lire l'agenda ne
# demande aucune action (public compris) ; « proposer_evenement » : créer un événement et modifier ou annuler les
# siens ; « gerer_agenda » : modifier ou annuler tout événement, lire les inscrits (syndicat).
ACTIONS.update({
    "inscrire_evenement": "vous inscrire à un événement de l'agenda",
    "proposer_evenement": "proposer un événement à l'agenda",
    "gerer_agenda": "modifier ou annuler l'événement d'un autre membre, ou lire la liste des inscrits",
})
ACTIONS_ECRITURE += ("proposer_evenement", "gerer_agenda")
ACTIONS_ADMINISTRATEUR += ("gerer_agenda",)
ACTIONS_ECRITURE += ("moderer_annuaire",)  # annuaire (issue 16, partie 4) ; sa propre fiche : tout membre
ACTIONS_ADMINISTRATEUR += ("moderer_annuaire",)  # annuaire (issue 16, partie 4)
# Rôles qui lisent tout (hors opérations supprimées pour le financeur), sans restriction de commune.
ROLES_LECTURE_COMPLETE = ("administrateur", "financeur")

# Colonnes retirées pour le public (et vidées, pour un référent, sur les opérations des autres communes) :
# - contact, cree_par, modifie_par : données personnelles (nom, adresse, téléphone des agents) ;
# - cout_ht_eur, montant_aides_eur (et la liste ``financements`` d'une opération) : coûts et aides ;
# - commentaire_validation : échange interne entre le syndicat et la commune ;
# - parcelles : références cadastrales, qui désignent le propriétaire d'une parcelle privée.
# Déclarées ``public=False`` avec chaque champ de l'opération (donnees/modele_operation.py).
COLONNES_MASQUEES_PUBLIC = colonnes_masquees_public()
CLES_MASQUEES_PUBLIC = COLONNES_MASQUEES_PUBLIC + ("financements",)
TYPE_SITE_PRIVE = "prive"


class ErreurDroits(ErreurDonnees):
    """Action refusée : le message dit pourquoi et à qui s'adresser."""

    def __init__(self, message: str, action: str | None = None):
        super().__init__(message, "droits", action)
        self.action = action


def _code(valeur: Any) -> str | None:
    if isinstance(valeur, str) and valeur.strip():
        return valeur.strip()
    return None


# ------------------------------------------------------------------------------------ règles


def _role(utilisateur: Utilisateur) -> str:
    if not isinstance(utilisateur, Utilisateur) or utilisateur.est_visiteur:
        return ROLE_VISITEUR
    return utilisateur.role if utilisateur.role in nomenclatures.ROLES else ROLE_VISITEUR


def _motif_refus(utilisateur: Utilisateur, action: str, code_insee: str | None, operation: Mapping | None,
                 noms: Mapping[str, str] | None) -> str | None:
    """Message de refus, ou ``None`` si l'action est permise."""
    if action not in ACTIONS:
        raise ErreurDonnees(f"Action « {action} » inconnue. Actions : {', '.join(ACTIONS)}.", "droits", "action")
    operation = {} if operation is None else operation  # dict, ou ligne de DataFrame
    code_operation = _code(operation.get("code_insee"))
    code_insee = _code(code_insee)
    if action == "lire":
        if operation.get("supprimee"):
            action = "lire_supprimees"
        elif operation.get("validation") == "validee":
            action = "lire_validees"
        else:
            action = "lire_non_validees"
    role = _role(utilisateur)
    if role == "administrateur" or action == "lire_validees":
        return None
    phrase = ACTIONS[action]

    if role == ROLE_VISITEUR:
        if action in ACTIONS_ECRITURE:
            return (f"Connectez-vous pour {phrase} : sans compte, le tableau de bord est en lecture seule.")
        return (f"Vous ne pouvez pas {phrase} sans être connecté : le public ne voit que les opérations "
                "validées, sans coûts ni contacts.")
    libelle = nomenclatures.ROLES[role]
    if action in ACTIONS_ADMINISTRATEUR:
        return (f"Votre rôle ({libelle}) ne permet pas de {phrase} : c'est réservé aux administrateurs du "
                "syndicat de bassin.")
    if role == "financeur":
        if action in ACTIONS_ECRITURE:
            return (f"Votre rôle ({libelle}) ne permet pas de {phrase} : il donne accès à toutes les données, "
                    "en lecture seule.")
        return None

    # Référent commune.
    communes = sorted(utilisateur.communes)
    rattachement = enumerer_communes([nommer_commune(c, noms) for c in communes])
    if code_operation is not None and code_operation not in utilisateur.communes:
        return (f"Vous ne pouvez pas {phrase} de {nommer_commune(code_operation, noms)} : votre compte est "
                f"rattaché à {rattachement}.")
    if code_insee is not None and code_insee not in utilisateur.communes:
        if action == "modifier" and code_operation is not None and code_insee != code_operation:
            return (f"Vous ne pouvez pas déplacer une opération vers {nommer_commune(code_insee, noms)} : "
                    f"votre compte est rattaché à {rattachement}.")
        return (f"Vous ne pouvez pas {phrase} de {nommer_commune(code_insee, noms)} : votre compte est "
                f"rattaché à {rattachement}.")
    if action == "supprimer" and operation.get("validation") == "validee":
        numero = f" n° {operation['id']}" if operation.get("id") is not None else ""
        return (f"Vous ne pouvez pas supprimer l'opération{numero} : elle est validée. Demandez sa suppression "
                "au syndicat de bassin, ou modifiez-la (elle repassera « à valider »).")
    return None


def peut(utilisateur: Utilisateur, action: str, code_insee: str | None = None,
         operation: Mapping | None = None, noms_communes: Mapping[str, str] | None = None) -> bool:
    """Vrai si l'utilisateur peut faire ``action`` (dans la commune ``code_insee``, sur ``operation``).

    ``operation`` : dictionnaire lu dans le magasin (``code_insee``, ``validation``, ``supprimee``) ;
    ``code_insee`` : commune visée (création, ou nouvelle commune d'une modification). Sans commune ni
    opération, la réponse porte sur le rôle (« peut-il créer quelque part ? »).
    """
    return _motif_refus(utilisateur, action, code_insee, operation, noms_communes) is None


def exiger(utilisateur: Utilisateur, action: str, code_insee: str | None = None,
           operation: Mapping | None = None, noms_communes: Mapping[str, str] | None = None) -> None:
    """Lève :class:`ErreurDroits` si l'utilisateur ne peut pas faire ``action``."""
    motif = _motif_refus(utilisateur, action, code_insee, operation,
                         lire_noms_communes() if noms_communes is None else noms_communes)
    if motif is not None:
        raise ErreurDroits(motif, action)


def est_public(utilisateur: Utilisateur) -> bool:
    """Vrai pour la vue publique : visiteur non connecté, compte désactivé ou rôle inconnu."""
    return _role(utilisateur) == ROLE_VISITEUR


def lire_perimetre(utilisateur: Utilisateur, action: str) -> frozenset[str] | None:
    """Communes où l'utilisateur peut faire ``action`` : ``None`` pour toutes (aucune restriction par
    commune), ``frozenset()`` pour aucune (rôle qui ne le permet pas), sinon ses communes (référent)."""
    if not peut(utilisateur, action, noms_communes={}):
        return frozenset()
    if action in ACTIONS_COMMUNE and _role(utilisateur) == "referent":
        return frozenset(utilisateur.communes)
    return None


# ------------------------------------------------------------------------------------ filtres


def reperer_lignes_detaillees(utilisateur: Utilisateur, codes: pd.Series) -> np.ndarray:
    """Lignes dont l'utilisateur voit tout (coûts, contacts, non validées)."""
    role = _role(utilisateur)
    if role in ROLES_LECTURE_COMPLETE:
        return np.ones(len(codes), dtype=bool)
    if role == "referent":
        return codes.astype(str).isin(list(utilisateur.communes)).to_numpy()
    return np.zeros(len(codes), dtype=bool)


def _effacer_maitre_ouvrage_prive(table: pd.DataFrame, lignes: np.ndarray) -> None:
    if "maitre_ouvrage" in table.columns and "type_site" in table.columns:
        prive = lignes & table["type_site"].eq(TYPE_SITE_PRIVE).to_numpy()
        if prive.any():
            table["maitre_ouvrage"] = table["maitre_ouvrage"].astype(object)
            table.loc[prive, "maitre_ouvrage"] = None


def filtrer_operations(utilisateur: Utilisateur, table: pd.DataFrame) -> pd.DataFrame:
    """Filtre une table d'opérations (ou de zones) selon les droits de lecture de l'utilisateur.

    Public : opérations validées seulement, colonnes de :data:`COLONNES_MASQUEES_PUBLIC` retirées.
    Référent : validées partout et tout dans ses communes ; hors de ses communes, ces colonnes sont
    vidées. Financeur et administrateur : tout (les supprimées ne sont lues que par l'administrateur).
    """
    role = _role(utilisateur)
    table = table.copy()
    if "supprimee" in table.columns and role != "administrateur":
        table = table[~table["supprimee"].astype(bool)]
    if role in ROLES_LECTURE_COMPLETE:
        return table
    detaillees = reperer_lignes_detaillees(utilisateur, table["code_insee"])
    visibles = detaillees | table["validation"].eq("validee").to_numpy()
    table = table[visibles]
    detaillees = detaillees[visibles]
    if role == ROLE_VISITEUR:
        table = table.drop(columns=[c for c in COLONNES_MASQUEES_PUBLIC if c in table.columns])
        _effacer_maitre_ouvrage_prive(table, np.ones(len(table), dtype=bool))
        return table
    publiques = ~detaillees
    if publiques.any():
        for colonne in COLONNES_MASQUEES_PUBLIC:
            if colonne not in table.columns:
                continue
            if pd.api.types.is_float_dtype(table[colonne]):
                table.loc[publiques, colonne] = np.nan
            else:
                table[colonne] = table[colonne].astype(object)
                table.loc[publiques, colonne] = None
        _effacer_maitre_ouvrage_prive(table, publiques)
    return table


def conditions_lecture_sql(utilisateur: Utilisateur, colonnes) -> tuple:
    """Règles de :func:`filtrer_operations` et :func:`filtrer_financements` écrites en SQL (SQLAlchemy), pour
    les agrégats calculés par le magasin : ``(visible, detaillee)``, deux conditions sur les colonnes
    ``code_insee``, ``validation`` et ``supprimee`` de ``colonnes`` (``table_operation.c``).

    ``visible`` : l'opération est lue (non supprimée ; validée, ou non validée dans une commune où
    :func:`lire_perimetre` permet ``lire_non_validees``) ; ``detaillee`` : ses coûts et aides sont lus
    (``lire_details``). Une opération vue sans ses détails ne donne ni coût ni aide à un agrégat.
    """
    from sqlalchemy import false, or_, true

    def dans(perimetre: frozenset[str] | None):
        if perimetre is None:
            return true()
        return colonnes.code_insee.in_(sorted(perimetre)) if perimetre else false()

    visible = colonnes.supprimee.is_(False) & or_(colonnes.validation == "validee",
                                                  dans(lire_perimetre(utilisateur, "lire_non_validees")))
    return visible, dans(lire_perimetre(utilisateur, "lire_details"))


def masquer_details(operation: dict) -> dict:
    """Opération sans coûts, financements, contacts ni données personnelles."""
    vue = {cle: valeur for cle, valeur in operation.items() if cle not in CLES_MASQUEES_PUBLIC}
    if vue.get("type_site") == TYPE_SITE_PRIVE:
        vue["maitre_ouvrage"] = None
    return vue


def filtrer_financements(utilisateur: Utilisateur, financements: pd.DataFrame,
                         operations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Financements que l'utilisateur peut lire : ceux des opérations dont il voit les détails.

    Même règle que :func:`peut` (``lire_details``) et :func:`filtrer_operations` : public, aucun ;
    référent, ceux des opérations de ses communes ; financeur, tous sauf ceux des opérations supprimées ;
    administrateur, tous. ``operations`` (``id``, ``code_insee``, ``supprimee`` si présente) situe chaque
    financement par son ``operation_id`` : un financement d'une opération absente de cette table est
    retiré. Sans elle, la colonne ``code_insee`` des financements (table du magasin) les situe.
    """
    if operations is None:
        codes = financements["code_insee"]
        connues = np.ones(len(financements), dtype=bool)
    else:
        if "supprimee" in operations.columns and _role(utilisateur) != "administrateur":
            operations = operations[~operations["supprimee"].astype(bool).to_numpy()]
        commune_par_id = dict(zip(pd.to_numeric(operations["id"]).astype(int), operations["code_insee"]))
        codes = pd.Series([commune_par_id.get(int(i)) for i in financements["operation_id"]],
                          index=financements.index, dtype=object)
        connues = codes.notna().to_numpy()
    return financements[connues & reperer_lignes_detaillees(utilisateur, codes.fillna(""))]
