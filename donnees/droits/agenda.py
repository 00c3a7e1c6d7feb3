"""Agenda de la communauté vu par un utilisateur (issue 16, partie 3) : qui lit l'agenda, qui s'inscrit, qui
propose, modifie ou annule un événement, qui lit les inscrits.

| action | public | financeur | référent de la commune | référent d'une autre commune | administrateur |
|---|---|---|---|---|---|
| lire l'agenda (événements, lieu, opérations liées lisibles, nombre d'inscrits) | oui | oui | oui | oui | oui |
| s'inscrire, se désinscrire (soi-même) | non | oui | oui | oui | oui |
| proposer (créer) un événement | non | non | oui | oui | oui |
| modifier, annuler un événement | non | non | les siens | les siens | tous |
| lire la liste des inscrits (noms, adresses) | non | non | de ses événements | de ses événements | tous |

Choix : un référent propose des événements (une commune organise la visite de son chantier ou un atelier) et tient
les siens (modifier, annuler, voir qui vient, pour organiser l'accueil) ; le syndicat de bassin tient tout l'agenda.
Un événement n'est pas rattaché à une commune : « référent de la commune » et « d'une autre commune » ont les mêmes
droits, sauf sur les opérations liées, qui doivent être lisibles par qui les lie (un référent ne lie pas
l'opération non validée d'une autre commune) ; chacun ne voit des opérations liées que celles qu'il peut lire. Le
public ne voit ni les adresses ni les noms des inscrits, ni l'adresse de l'auteur. Le point du lieu doit tomber
dans le territoire (contours des communes). Inscription refusée sur un événement annulé, commencé ou complet.
Chaque refus lève :class:`ErreurDroits` (ou :class:`ErreurDonnees`) avec un message en français.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import shapely

from donnees.droits.politique import ErreurDroits, est_public, peut
from donnees.erreurs import ErreurDonnees

# Colonnes de l'agenda lues par tous ; l'auteur (adresse) n'est lu que par les membres connectés.
COLONNES_PUBLIQUES_AGENDA = ["id", "uid", "genre", "titre", "sujet", "debut", "fin", "lieu", "longitude", "latitude",
                             "en_ligne", "url", "places_max", "statut", "motif_annulation", "partage_territoires",
                             "sequence", "modifie_le", "nombre_inscrits"]


class EcrituresAgenda:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour l'agenda."""

    # ---------------------------------------------------------------- outils

    def _evenement_protege(self, evenement_id: Any) -> dict:
        if isinstance(evenement_id, bool) or not isinstance(evenement_id, numbers.Integral):
            raise ErreurDonnees(f"Identifiant d'événement entier attendu (reçu « {evenement_id} »).", "evenement",
                                "id")
        return self._magasin.lire_evenement(int(evenement_id))

    def peut_tenir_evenement(self, evenement: Mapping) -> bool:
        """Vrai si l'utilisateur peut modifier, annuler l'événement et en lire les inscrits (le syndicat : tous ;
        un membre qui propose : les siens)."""
        u = self.utilisateur
        return peut(u, "gerer_agenda") or (peut(u, "proposer_evenement") and evenement.get("cree_par") == u.email)

    def _exiger_tenir(self, evenement: Mapping) -> None:
        u = self.utilisateur
        self._exiger(u, "proposer_evenement")
        if not self.peut_tenir_evenement(evenement):
            raise ErreurDroits(f"Vous ne pouvez pas modifier l'événement n° {evenement['id']} : il a été proposé par "
                               "un autre membre. Demandez au syndicat de bassin ou à son auteur.", "gerer_agenda")

    def _verifier_liens(self, liens: Mapping[str, Iterable[int]] | None) -> dict[str, list[int]]:
        """Liens d'un événement : chaque opération et chaque ressource liée doit être lisible par l'utilisateur."""
        if not liens:
            return {}
        if not isinstance(liens, Mapping):
            raise ErreurDonnees("Événement, liens : dictionnaire {\"operation\": [identifiants]} attendu.",
                                "evenement", "liens")
        propres = {}
        for objet, ids in liens.items():
            if ids is None:
                ids = []
            if isinstance(ids, (str, bytes, Mapping)) or not isinstance(ids, Iterable) or any(
                    isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in ids):
                raise ErreurDonnees(f"Événement, liens « {objet} » : liste d'identifiants entiers attendue.",
                                    "evenement", f"{objet}_ids")
            ids = [int(i) for i in ids]
            if objet == "operation" and ids:
                lisibles = self._operations_lisibles(self.utilisateur, ids)
                refusees = sorted(set(ids) - set(lisibles))
                if refusees:
                    raise ErreurDroits(f"Vous ne pouvez pas lier l'opération n° {', '.join(map(str, refusees))} : "
                                       "elle est introuvable ou vous ne pouvez pas la consulter.", "lire")
            if objet == "ressource":
                for ident in ids:  # ressource masquée : seuls son auteur et le syndicat la lient
                    self._ressource_lisible(self.utilisateur, ident)
            propres[objet] = ids
        return propres

    def _verifier_point(self, saisie: Mapping, actuel: Mapping | None = None) -> None:
        """Le point du lieu (WGS84) doit tomber dans une commune du territoire (sans contours : contrôle sauté)."""
        if not isinstance(saisie, Mapping) or ("longitude" not in saisie and "latitude" not in saisie):
            return
        valeurs = {**(actuel or {}), **saisie}
        lon, lat = valeurs.get("longitude"), valeurs.get("latitude")
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v for v in (lon, lat)):
            return  # absent ou fautif : le contrôle de la saisie (donnees.agenda) répond
        contours = self.contours_communes
        if not contours:
            return
        from donnees.geometrie import vers_lambert93

        point = vers_lambert93(shapely.points([float(lon)], [float(lat)]))[0]
        if not any(contour.covers(point) for contour in contours.values()):
            raise ErreurDonnees(f"Événement, point du lieu ({float(lon):.5f}, {float(lat):.5f}) hors du territoire : "
                                "cliquez sur la carte dans une commune du territoire, choisissez une commune, ou "
                                "laissez le point vide.", "evenement", "longitude")

    def _vue_evenement(self, evenement: dict) -> dict:
        """Événement vu par l'utilisateur : opérations liées limitées aux lisibles (``operations`` : id, nom),
        adresse de l'auteur retirée pour le public, ``inscrit`` (l'utilisateur l'est-il ?)."""
        u = self.utilisateur
        vue = dict(evenement)
        ids = vue.pop("operation_ids", [])
        lisibles = self._operations_lisibles(u, ids)
        vue["operations"] = [{"id": i, "nom": str(lisibles[i]["nom"])} for i in ids if i in lisibles]
        ids_ressources = vue.pop("ressource_ids", [])
        ressources = self.lire_ressources() if ids_ressources else None  # publiées (+ siennes, + masquées : syndicat)
        titres = {} if ressources is None else dict(zip(ressources["id"].astype(int), ressources["titre"]))
        vue["ressources"] = [{"id": i, "titre": str(titres[i])} for i in ids_ressources if i in titres]
        if est_public(u):
            vue.pop("cree_par", None)
            vue.pop("cree_le", None)
            vue["inscrit"] = False
        else:
            vue["inscrit"] = int(vue["id"]) in self._magasin.lire_inscriptions_membre(u.email)
        return vue

    # ---------------------------------------------------------------- lectures (tous)

    def lire_agenda(self, depuis=None, jusqua=None, partages_seulement: bool = False) -> pd.DataFrame:
        """Événements du territoire (annulés compris, marqués), du plus proche au plus lointain ; sans l'adresse
        de l'auteur pour le public ; colonne ``inscrit`` pour un membre connecté."""
        u = self.utilisateur
        table = self._magasin.lire_evenements(depuis, jusqua, partages_seulement)
        if est_public(u):
            return table[COLONNES_PUBLIQUES_AGENDA].assign(inscrit=False)
        siens = self._magasin.lire_inscriptions_membre(u.email)
        return table.assign(inscrit=table["id"].astype(int).isin(siens).to_numpy(bool))

    def lire_evenement(self, evenement_id: int) -> dict:
        """Un événement vu par l'utilisateur (voir :meth:`_vue_evenement`)."""
        return self._vue_evenement(self._evenement_protege(evenement_id))

    def lire_evenements_operation(self, operation_id: int) -> pd.DataFrame:
        """Événements liés à une opération lisible (fiche de l'opération)."""
        if int(operation_id) not in self._operations_lisibles(self.utilisateur, [int(operation_id)]):
            raise ErreurDroits(f"Vous ne pouvez pas consulter l'opération n° {int(operation_id)} : elle est "
                               "introuvable ou réservée.", "lire")
        ids = self._magasin.lire_evenements_operation(int(operation_id))
        return self._magasin.lire_evenements(identifiants=ids)[COLONNES_PUBLIQUES_AGENDA]

    def lire_inscrits(self, evenement_id: int) -> pd.DataFrame:
        """Noms et adresses des inscrits (syndicat, ou auteur de l'événement)."""
        evenement = self._evenement_protege(evenement_id)
        u = self.utilisateur
        if not self.peut_tenir_evenement(evenement):
            self._exiger(u, "gerer_agenda")
        return self._magasin.lire_inscriptions(int(evenement_id))[["email", "nom", "inscrit_le"]]

    # ---------------------------------------------------------------- inscriptions (membres connectés)

    def _exiger_membre(self) -> Any:
        u = self.utilisateur
        if est_public(u):
            raise ErreurDroits("Connectez-vous pour vous inscrire à un événement : l'inscription est réservée aux "
                               "membres de la communauté.", "inscrire_evenement")
        self._exiger(u, "inscrire_evenement")
        return u

    def s_inscrire(self, evenement_id: int) -> bool:
        """Inscrit l'utilisateur (lui-même) ; faux s'il l'était déjà ; refus français si annulé, passé ou
        complet."""
        u = self._exiger_membre()
        self._evenement_protege(evenement_id)
        return self._magasin.inscrire_evenement(int(evenement_id), u.email, u.nom)

    def se_desinscrire(self, evenement_id: int) -> bool:
        """Retire l'inscription de l'utilisateur (lui-même) ; faux s'il n'était pas inscrit."""
        u = self._exiger_membre()
        self._evenement_protege(evenement_id)
        return self._magasin.desinscrire_evenement(int(evenement_id), u.email)

    # ---------------------------------------------------------------- écritures (référent, syndicat)

    def creer_evenement(self, saisie: Mapping, liens: Mapping[str, Iterable[int]] | None = None) -> int:
        """Propose un événement (référent, syndicat) ; opérations liées lisibles, point dans le territoire."""
        u = self.utilisateur
        self._exiger(u, "proposer_evenement")
        liens = self._verifier_liens(liens)
        self._verifier_point(saisie)
        return self._magasin.creer_evenement(saisie, u.email, liens)

    def modifier_evenement(self, evenement_id: int, modifications: Mapping,
                           liens: Mapping[str, Iterable[int]] | None = None) -> int:
        """Modifie un événement (le sien ; le syndicat : tous) ; renvoie la séquence."""
        evenement = self._evenement_protege(evenement_id)
        self._exiger_tenir(evenement)
        liens = self._verifier_liens(liens)
        self._verifier_point(modifications, evenement)
        return self._magasin.modifier_evenement(int(evenement_id), modifications, self.utilisateur.email, liens)

    def annuler_evenement(self, evenement_id: int, motif: Any) -> int:
        """Annule un événement (le sien ; le syndicat : tous), motif obligatoire ; renvoie la séquence."""
        evenement = self._evenement_protege(evenement_id)
        self._exiger_tenir(evenement)
        return self._magasin.annuler_evenement(int(evenement_id), motif, self.utilisateur.email)


__all__ = ["COLONNES_PUBLIQUES_AGENDA", "EcrituresAgenda"]
