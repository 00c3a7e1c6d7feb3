"""Résumé des notifications par courriel vu par un utilisateur (issue 16) : chaque membre connecté (référent,
financeur, syndicat) choisit la fréquence de **son** résumé ; le public n'en a pas. Le désabonnement par le lien
d'un courriel ne demande pas de connexion : le jeton du lien (256 bits d'aléa) ne permet que cela."""

from __future__ import annotations

from typing import Any


class PreferencesCourriel:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour le résumé par courriel."""

    def lire_preference_courriel(self) -> dict:
        """Fréquence du résumé de l'utilisateur courant (``frequence``, ``dernier_envoi``)."""
        u = self.utilisateur
        self._exiger(u, "lire_notifications")
        return self._magasin.lire_preference_courriel(u.email)

    def ecrire_preference_courriel(self, frequence: Any) -> None:
        """Fixe la fréquence du résumé de l'utilisateur courant (jamais, quotidienne, hebdomadaire)."""
        u = self.utilisateur
        self._exiger(u, "lire_notifications")
        self._magasin.ecrire_preference_courriel(u.email, frequence, u.email)

    def desabonner_courriel(self, jeton: Any) -> str:
        """Désabonnement par le lien d'un courriel (sans connexion) ; renvoie l'adresse désabonnée."""
        return self._magasin.desabonner_courriel(jeton)
