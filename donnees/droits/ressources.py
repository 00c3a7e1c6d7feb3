"""Ressources vues par un utilisateur (issue 16, partie 1) : qui lit, qui dépose, qui modifie, qui lie, qui modère.

| action | public | financeur | référent de la commune | référent d'une autre commune | administrateur |
|---|---|---|---|---|---|
| lire les ressources publiées | oui, sans adresse de l'auteur | oui | oui | oui | oui, masquées comprises |
| échéances proches (Vue d'ensemble) | non | oui | oui | oui | oui |
| déposer une ressource (toute commune) | non | non | oui | oui | oui |
| modifier, supprimer une ressource | non | non | les siennes | les siennes | toutes |
| lier une ressource à une opération lisible | non | non | oui | oui | oui |
| masquer, restaurer (avec motif, journalisé) | non | non | non | non | oui |
| suivre un thème | non | oui | oui | oui | oui |

Une ressource masquée n'est lue que par le syndicat et par son auteur (avec le motif). Une ressource n'est liée qu'à
une opération que l'utilisateur peut lire, et la fiche d'une opération ne montre que les ressources qu'il peut lire ;
la liste des opérations d'une ressource ne montre que celles qu'il peut lire. Chaque refus lève
:class:`ErreurDroits` avec un message en français ; le journal porte l'adresse de l'utilisateur.
"""

from __future__ import annotations

import numbers
from datetime import date, timedelta
from typing import Any

import pandas as pd

from donnees.droits.politique import ErreurDroits, peut
from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import lire_genres_ressource, lire_parametres_ressources

# Colonnes retirées pour le public : adresses des membres et modération.
COLONNES_PRIVEES = ("auteur_email", "masque_par", "masque_le", "motif_masquage")


def jour_paris() -> date:
    """Date du jour à Paris."""
    from zoneinfo import ZoneInfo

    return pd.Timestamp.now(tz=ZoneInfo("Europe/Paris")).date()


def selectionner_echeances_proches(table: pd.DataFrame, aujourdhui: date | None = None,
                                   delai_jours: int | None = None) -> pd.DataFrame:
    """Ressources publiées d'un genre à échéance (appels à projets, subventions) dont l'échéance tombe entre
    aujourd'hui et ``delai_jours`` plus tard (paramètre ``delai_echeance_proche_jours``), de la plus proche à la plus
    lointaine."""
    aujourdhui = aujourdhui or jour_paris()
    delai = delai_jours or lire_parametres_ressources()["delai_echeance_proche_jours"]
    genres = [code for code, genre in lire_genres_ressource().items() if genre["echeance"]]
    if table.empty:
        return table
    echeances = pd.to_datetime(table["echeance"], errors="coerce")
    debut = pd.Timestamp(aujourdhui)
    garde = (table["genre"].isin(genres) & table["statut"].eq("publiee") & echeances.notna()
             & echeances.ge(debut) & echeances.le(debut + timedelta(days=delai)))
    garde = garde.to_numpy(bool)
    return table[garde].assign(_e=echeances[garde].to_numpy()).sort_values(["_e", "id"]).drop(columns="_e")


class RessourcesProtegees:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour les ressources."""

    # ---------------------------------------------------------------- outils

    def _voit_ressource(self, u, ressource) -> bool:
        return (ressource["statut"] == "publiee" or peut(u, "moderer_ressources")
                or (not u.est_visiteur and ressource["auteur_email"] == u.email))

    def _vue_ressources(self, u, table: pd.DataFrame) -> pd.DataFrame:
        garde = [self._voit_ressource(u, r) for r in table[["statut", "auteur_email"]].to_dict("records")]
        table = table[pd.Series(garde, index=table.index, dtype=bool)].copy()
        if not peut(u, "lire_ressources_membres"):
            table = table.drop(columns=[c for c in COLONNES_PRIVEES if c in table.columns])
        return table

    def _ressource_lisible(self, u, ressource_id: Any) -> dict:
        if isinstance(ressource_id, bool) or not isinstance(ressource_id, numbers.Integral):
            raise ErreurDonnees(f"Identifiant de ressource entier attendu (reçu « {ressource_id} »).", "ressource",
                                "id")
        ressource = self._magasin.lire_ressource(int(ressource_id))
        if not self._voit_ressource(u, ressource):
            raise ErreurDroits(f"La ressource n° {int(ressource_id)} a été masquée par le syndicat de bassin : seuls "
                               "son auteur et le syndicat la voient.", "moderer_ressources")
        return ressource

    def _operation_lisible(self, u, operation_id: Any) -> dict:
        if isinstance(operation_id, bool) or not isinstance(operation_id, numbers.Integral):
            raise ErreurDonnees(f"Identifiant d'opération entier attendu (reçu « {operation_id} »).",
                                "ressource_operation", "operation_id")
        etats = self._magasin.lire_etat_operations([int(operation_id)])
        if etats.empty:
            raise ErreurDonnees(f"Opération n° {int(operation_id)} introuvable.", "ressource_operation",
                                "operation_id")
        operation = etats.iloc[0].to_dict()
        operation["supprimee"] = bool(operation["supprimee"])
        self._exiger(u, "lire", operation=operation)
        return operation

    def peut_modifier_ressource(self, ressource) -> bool:
        """Vrai si l'utilisateur peut modifier ou supprimer cette ressource (la sienne, ou syndicat)."""
        u = self.utilisateur
        return peut(u, "modifier_ressource") and (peut(u, "moderer_ressources")
                                                  or ressource.get("auteur_email") == u.email)

    def _exiger_modification(self, u, ressource: dict) -> None:
        self._exiger(u, "modifier_ressource")
        if not peut(u, "moderer_ressources") and ressource["auteur_email"] != u.email:
            raise ErreurDroits(f"Vous ne pouvez modifier ou supprimer que les ressources que vous avez déposées (la "
                               f"ressource n° {ressource['id']} a été déposée par {ressource['auteur_nom']}) ; "
                               "demandez-lui, ou au syndicat de bassin.", "modifier_ressource")

    def _verifier_communes(self, saisie) -> None:
        noms = self.noms_communes
        if not noms or not isinstance(saisie, dict):
            return
        codes = saisie.get("communes") or []
        codes = codes.split(",") if isinstance(codes, str) else codes
        inconnues = sorted({str(c).strip() for c in codes if str(c).strip()} - set(noms))
        if inconnues:
            raise ErreurDonnees(f"Ressource, champ « communes » : {', '.join(inconnues)} n'est pas une commune du "
                                "territoire ; choisissez dans la liste.", "ressource", "communes")

    # ---------------------------------------------------------------- lectures

    def lire_ressources(self) -> pd.DataFrame:
        """Ressources que l'utilisateur peut lire (publiées ; masquées pour le syndicat et leur auteur), des plus
        récentes aux plus anciennes ; sans adresse de l'auteur ni modération pour le public."""
        u = self.utilisateur
        return self._vue_ressources(u, self._magasin.lire_ressources())

    def lire_ressource(self, ressource_id: int) -> dict:
        """Une ressource lisible (voir :meth:`lire_ressources`)."""
        u = self.utilisateur
        ressource = self._ressource_lisible(u, ressource_id)
        if not peut(u, "lire_ressources_membres"):
            ressource = {c: v for c, v in ressource.items() if c not in COLONNES_PRIVEES}
        return ressource

    def lire_fichier_ressource(self, ressource_id: int) -> bytes:
        """Contenu du fichier d'une ressource lisible, rangé dans le dossier de données de ce magasin."""
        u = self.utilisateur
        self._ressource_lisible(u, ressource_id)
        dossier = self.dossier_photos
        if dossier is None:
            raise ErreurDonnees("Fichiers des ressources indisponibles : ce magasin n'est pas celui du dossier de "
                                "données ouvert.", "ressource", "fichier")
        return self._magasin.lire_fichier_ressource(int(ressource_id), dossier)

    def lire_echeances_proches(self, aujourdhui: date | None = None) -> pd.DataFrame:
        """Appels à projets et subventions publiés dont l'échéance est proche (membres connectés)."""
        u = self.utilisateur
        self._exiger(u, "lire_ressources_membres")
        return selectionner_echeances_proches(self._vue_ressources(u, self._magasin.lire_ressources(False)),
                                              aujourdhui)

    def lire_ressources_operation(self, operation_id: int) -> pd.DataFrame:
        """Ressources lisibles liées à une opération lisible."""
        u = self.utilisateur
        self._operation_lisible(u, operation_id)
        liens = self._magasin.lire_liens_ressources(operation_ids=[int(operation_id)])
        table = self._vue_ressources(u, self._magasin.lire_ressources())
        return table[table["id"].isin(liens["ressource_id"]).to_numpy(bool)]

    def lire_operations_ressource(self, ressource_id: int) -> pd.DataFrame:
        """Opérations liées à une ressource lisible, parmi celles que l'utilisateur peut lire (``id``, ``nom``,
        ``code_insee``)."""
        u = self.utilisateur
        self._ressource_lisible(u, ressource_id)
        liens = self._magasin.lire_liens_ressources(ressource_ids=[int(ressource_id)])
        etats = self._magasin.lire_etat_operations(liens["operation_id"])
        lisibles = [peut(u, "lire", operation={**o, "supprimee": bool(o["supprimee"])}, noms_communes={})
                    for o in etats.to_dict("records")]
        return etats[pd.Series(lisibles, index=etats.index, dtype=bool)][["id", "nom", "code_insee"]]

    def lire_themes_suivis(self) -> list[str]:
        """Thèmes que l'utilisateur suit (aucun pour qui ne peut pas suivre)."""
        u = self.utilisateur
        return self._magasin.lire_themes_suivis(u.email) if peut(u, "suivre_theme") else []

    # ---------------------------------------------------------------- écritures

    def creer_ressource(self, saisie: dict, fichier: tuple[bytes, str] | None = None) -> int:
        """Dépose une ressource (référent, pour n'importe quelle commune du territoire ; syndicat) ; renvoie son
        identifiant. Le fichier est rangé dans le dossier de données de ce magasin."""
        u = self.utilisateur
        self._exiger(u, "creer_ressource")
        self._verifier_communes(saisie)
        return self._magasin.creer_ressource(saisie, u.email, u.nom, fichier, self.dossier_photos)

    def modifier_ressource(self, ressource_id: int, saisie: dict, version_attendue: int,
                           fichier: tuple[bytes, str] | None = None) -> int:
        """Modifie une ressource (la sienne, ou syndicat) ; renvoie sa nouvelle version."""
        u = self.utilisateur
        self._exiger_modification(u, self._ressource_lisible(u, ressource_id))
        self._verifier_communes(saisie)
        return self._magasin.modifier_ressource(int(ressource_id), saisie, u.email, version_attendue, fichier,
                                                self.dossier_photos)

    def supprimer_ressource(self, ressource_id: int) -> None:
        """Supprime une ressource (la sienne, ou syndicat) et ses liens ; journalisé."""
        u = self.utilisateur
        self._exiger_modification(u, self._ressource_lisible(u, ressource_id))
        self._magasin.supprimer_ressource(int(ressource_id), u.email, self.dossier_photos)

    def masquer_ressource(self, ressource_id: int, motif: Any) -> None:
        """Masque une ressource (syndicat), motif obligatoire ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_ressources")
        self._magasin.masquer_ressource(ressource_id, motif, u.email)

    def restaurer_ressource(self, ressource_id: int) -> None:
        """Republie une ressource masquée (syndicat) ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_ressources")
        self._magasin.restaurer_ressource(ressource_id, u.email)

    def lier_ressource(self, ressource_id: int, operation_id: int) -> bool:
        """Lie une ressource lisible à une opération que l'utilisateur peut lire ; faux si déjà liée."""
        u = self.utilisateur
        self._exiger(u, "lier_ressource")
        self._ressource_lisible(u, ressource_id)
        self._operation_lisible(u, operation_id)
        return self._magasin.lier_ressource(int(ressource_id), int(operation_id), u.email)

    def delier_ressource(self, ressource_id: int, operation_id: int) -> bool:
        """Retire un lien : qui l'a posé, l'auteur de la ressource, un référent de la commune de l'opération ou le
        syndicat."""
        u = self.utilisateur
        self._exiger(u, "lier_ressource")
        ressource = self._ressource_lisible(u, ressource_id)
        operation = self._operation_lisible(u, operation_id)
        liens = self._magasin.lire_liens_ressources([int(ressource_id)], [int(operation_id)])
        if not (peut(u, "moderer_ressources") or ressource["auteur_email"] == u.email
                or u.email in set(liens["lie_par"]) or peut(u, "modifier", operation=operation, noms_communes={})):
            raise ErreurDroits("Seuls qui a posé ce lien, l'auteur de la ressource, les référents de la commune de "
                               "l'opération et le syndicat peuvent le retirer.", "lier_ressource")
        return self._magasin.delier_ressource(int(ressource_id), int(operation_id), u.email)

    def suivre_theme(self, theme: str) -> bool:
        """Suit un thème (notifié de chaque nouvelle ressource du thème) ; faux s'il le suivait déjà."""
        u = self.utilisateur
        self._exiger(u, "suivre_theme")
        return self._magasin.suivre_theme(u.email, theme)

    def ne_plus_suivre_theme(self, theme: str) -> bool:
        """Ne suit plus un thème ; faux s'il ne le suivait pas."""
        u = self.utilisateur
        self._exiger(u, "suivre_theme")
        return self._magasin.ne_plus_suivre_theme(u.email, theme)
