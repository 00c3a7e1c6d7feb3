"""Échanges et notifications vus par un utilisateur (issue 16) : qui lit un fil, qui pose une question, qui répond,
qui modère, qui lit quelles notifications.

| action | public | financeur | référent de la commune | référent d'une autre commune | administrateur |
|---|---|---|---|---|---|
| lire un fil (messages visibles) | non | oui | oui | oui | oui, masqués compris (grisés, motif) |
| poser une question | non | non | oui | oui | oui |
| répondre (genre « réponse ») | non | non | oui | non | oui |
| masquer, restaurer un message | non | non | non | non | oui |
| suivre un fil | non | oui | oui | oui | oui |
| lire, marquer lues des notifications | non | les siennes | les siennes | les siennes | les siennes |

Un fil n'est lu que sous une opération que l'utilisateur peut lire (un référent ne voit pas le fil d'une opération
non validée d'une autre commune) ; le public ne voit ni les fils, ni les messages, ni leur nombre. Chaque refus lève
:class:`ErreurDroits` avec un message en français ; le journal et les messages portent l'adresse de l'utilisateur.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import pandas as pd

from donnees.droits.politique import ErreurDroits, peut
from donnees.erreurs import ErreurDonnees


class EcrituresEchanges:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour les échanges et les notifications."""

    # ---------------------------------------------------------------- outils

    def _operations_lisibles(self, u, operation_ids: Iterable[int]) -> dict[int, dict]:
        """Opérations (état léger) de ``operation_ids`` que l'utilisateur peut lire, par identifiant."""
        etats = self._magasin.lire_etat_operations(operation_ids)
        lisibles = {}
        for ligne in etats.to_dict("records"):
            ligne["supprimee"] = bool(ligne["supprimee"])
            if peut(u, "lire", operation=ligne, noms_communes=self.noms_communes):
                lisibles[int(ligne["id"])] = ligne
        return lisibles

    def _operation_du_fil(self, u, operation_id: Any) -> dict:
        """L'opération dont on veut le fil, si elle existe et si l'utilisateur peut la lire."""
        if isinstance(operation_id, bool) or not isinstance(operation_id, numbers.Integral):
            raise ErreurDonnees(f"Identifiant d'opération entier attendu (reçu « {operation_id} »).", "message_fil",
                                "operation_id")
        operation_id = int(operation_id)
        etats = self._magasin.lire_etat_operations([operation_id])
        if etats.empty:
            raise ErreurDonnees(f"Opération n° {operation_id} introuvable : pas de fil d'échanges.", "message_fil",
                                "operation_id")
        operation = etats.iloc[0].to_dict()
        operation["supprimee"] = bool(operation["supprimee"])
        self._exiger(u, "lire", operation=operation)
        return operation

    # ---------------------------------------------------------------- fils

    def lire_fil(self, operation_id: int) -> pd.DataFrame:
        """Messages du fil d'une opération lisible, du plus ancien au plus récent ; le syndicat (modération) voit
        aussi les messages masqués (colonnes ``masque``, ``masque_par``, ``masque_le``, ``motif_masquage``)."""
        u = self.utilisateur
        self._exiger(u, "lire_echanges")
        self._operation_du_fil(u, operation_id)
        return self._magasin.lire_messages([operation_id], inclure_masques=peut(u, "moderer_echanges"))

    def lire_fils(self, operation_ids: Iterable[int]) -> pd.DataFrame:
        """Messages des fils de plusieurs opérations (galerie des retours), limités à celles que l'utilisateur
        peut lire ; colonne ``operation_id``."""
        u = self.utilisateur
        self._exiger(u, "lire_echanges")
        lisibles = self._operations_lisibles(u, operation_ids)
        return self._magasin.lire_messages(lisibles, inclure_masques=peut(u, "moderer_echanges"))

    def compter_messages(self, operation_ids: Iterable[int]) -> dict[int, int]:
        """Nombre de messages visibles du fil de chaque opération lisible."""
        u = self.utilisateur
        self._exiger(u, "lire_echanges")
        lisibles = self._operations_lisibles(u, operation_ids)
        return self._magasin.compter_messages(lisibles, inclure_masques=peut(u, "moderer_echanges"))

    def publier_message(self, operation_id: int, texte: Any, genre: str = "question") -> int:
        """Question (tout membre qui écrit : référent de n'importe quelle commune, syndicat) ou réponse (référent de
        la commune de l'opération, syndicat) dans le fil d'une opération lisible ; renvoie l'identifiant."""
        u = self.utilisateur
        self._exiger(u, "lire_echanges")
        operation = self._operation_du_fil(u, operation_id)
        if genre == "question":
            self._exiger(u, "poser_question")
        elif genre == "reponse":
            self._exiger(u, "repondre_fil", operation["code_insee"])
        else:
            raise ErreurDonnees(f"Message, champ « genre » : « {genre} » inconnu (question ou reponse).",
                                "message_fil", "genre")
        return self._magasin.publier_message(operation_id, genre, texte, u.email, u.nom)

    def poser_question(self, operation_id: int, texte: Any) -> int:
        """Pose une question sous une opération (voir :meth:`publier_message`)."""
        return self.publier_message(operation_id, texte, "question")

    def repondre(self, operation_id: int, texte: Any) -> int:
        """Répond dans le fil d'une opération (voir :meth:`publier_message`)."""
        return self.publier_message(operation_id, texte, "reponse")

    def masquer_message(self, message_id: int, motif: Any) -> None:
        """Masque un message (syndicat), motif obligatoire ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_echanges")
        self._magasin.masquer_message(message_id, motif, u.email)

    def restaurer_message(self, message_id: int) -> None:
        """Rend visible un message masqué (syndicat) ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_echanges")
        self._magasin.restaurer_message(message_id, u.email)

    def suit_fil(self, operation_id: int) -> bool:
        """Vrai si l'utilisateur suit le fil de l'opération (faux pour qui ne peut pas suivre)."""
        u = self.utilisateur
        if not peut(u, "suivre_fil"):
            return False
        return self._magasin.suit_fil(operation_id, u.email)

    def suivre_fil(self, operation_id: int) -> bool:
        """Suit le fil d'une opération lisible (notifié de chaque nouveau message) ; faux s'il le suivait déjà."""
        u = self.utilisateur
        self._exiger(u, "suivre_fil")
        self._operation_du_fil(u, operation_id)
        return self._magasin.suivre_fil(operation_id, u.email)

    def ne_plus_suivre_fil(self, operation_id: int) -> bool:
        """Ne suit plus le fil d'une opération ; faux s'il ne le suivait pas."""
        u = self.utilisateur
        self._exiger(u, "suivre_fil")
        return self._magasin.ne_plus_suivre_fil(operation_id, u.email)

    # ---------------------------------------------------------------- notifications (chacun les siennes)

    def lire_notifications(self, limite: int | None = None) -> pd.DataFrame:
        """Notifications de l'utilisateur, des plus récentes aux plus anciennes."""
        u = self.utilisateur
        self._exiger(u, "lire_notifications")
        return self._magasin.lire_notifications(u.email, limite)

    def compter_notifications_non_lues(self) -> int:
        """Nombre de notifications non lues de l'utilisateur (0 pour qui n'en lit pas)."""
        u = self.utilisateur
        if not peut(u, "lire_notifications"):
            return 0
        return self._magasin.compter_notifications_non_lues(u.email)

    def marquer_notifications_lues(self, identifiants: Iterable[int] | None = None) -> int:
        """Marque lues des notifications de l'utilisateur (toutes sans ``identifiants``) ; celles d'un autre compte
        ne sont jamais touchées. Renvoie le nombre marqué."""
        u = self.utilisateur
        self._exiger(u, "lire_notifications")
        if identifiants is not None:
            identifiants = list(identifiants)
            siennes = set(self._magasin.lire_notifications(u.email)["id"].astype(int))
            autres = {int(i) for i in identifiants} - siennes
            if autres:
                raise ErreurDroits("Vous ne pouvez marquer lues que vos propres notifications.", "lire_notifications")
        return self._magasin.marquer_notifications_lues(u.email, identifiants)
