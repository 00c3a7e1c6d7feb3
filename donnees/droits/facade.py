"""Façade protégée : le magasin vu par un utilisateur (CONCEPTION §6).

Chaque lecture est filtrée et chaque écriture vérifiée (:mod:`donnees.droits.politique`) avant d'atteindre
la base, et le journal porte l'adresse de l'utilisateur. L'application ne manipule que cette enveloppe.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from donnees.comptes import VISITEUR, Utilisateur
from donnees.droits.administration import EcrituresAdministration
from donnees.droits.agenda import EcrituresAgenda
from donnees.droits.annuaire import AnnuaireProtege
from donnees.droits.courriels import PreferencesCourriel
from donnees.droits.scenarios import EcrituresScenarios
from donnees.droits.echanges import EcrituresEchanges
from donnees.droits.ressources import RessourcesProtegees
from donnees.droits.changements import detecter_changement, normaliser_valeur
from donnees.droits.communes import lire_contours_communes, lire_noms_communes
from donnees.droits.politique import (
    ErreurDroits,
    exiger,
    filtrer_financements,
    filtrer_operations,
    lire_perimetre,
    masquer_details,
    peut,
    reperer_lignes_detaillees,
)
from donnees.droits.zones import verifier_zones_dans_commune
from donnees.magasin import ConflitVersion, Magasin
from donnees.erreurs import ErreurDonnees
from donnees.photos import verifier_photos_du_magasin


class MagasinProtege(EcrituresAdministration, EcrituresScenarios, EcrituresEchanges,
                     PreferencesCourriel, RessourcesProtegees, EcrituresAgenda, AnnuaireProtege):
    """Magasin vu par un utilisateur : lectures filtrées, écritures vérifiées et journalisées à son nom.

    Le compte est relu dans la base à chaque appel : un compte désactivé ou dont le rôle a changé
    perd ses droits aussitôt, même si sa session est encore ouverte.
    """

    def __init__(self, magasin: Magasin, utilisateur: Utilisateur = VISITEUR,
                 noms_communes: Mapping[str, str] | None = None):
        self._magasin = magasin
        self._utilisateur = utilisateur if isinstance(utilisateur, Utilisateur) else VISITEUR
        self._noms = noms_communes
        self._contours: Mapping[str, BaseGeometry] | None = None

    def __repr__(self) -> str:
        return f"MagasinProtege({self._magasin!r}, {self._utilisateur.email or 'visiteur'!r})"

    # ---------------------------------------------------------------- outils

    @property
    def contours_communes(self) -> Mapping[str, BaseGeometry]:
        """Contours des communes (Lambert-93) du dossier de données dont ce magasin est la base ; vide si le
        magasin n'est pas celui du dossier de données courant (contrôle géographique alors laissé à l'import)."""
        if self._contours is None:
            from donnees.config import dossier_donnees, url_base

            dossier = dossier_donnees()
            self._contours = lire_contours_communes(dossier) if self._magasin.url == url_base(dossier) else {}
        return self._contours

    @property
    def dossier_photos(self) -> Path | None:
        """Dossier de données dont ce magasin est la base (ses photos y sont rangées) ; None sinon (contrôle
        des photos alors laissé au modèle de l'opération, qui refuse tout chemin)."""
        from donnees.config import dossier_donnees, url_base

        dossier = dossier_donnees()
        return dossier if self._magasin.url == url_base(dossier) else None

    def _verifier_photos(self, operation: Any, actuelle: Mapping | None = None) -> None:
        """Photos rattachées par l'appelant : seulement celles que le magasin a écrites et nommées
        (:func:`donnees.photos.verifier_photos_du_magasin`), ou déjà rattachées à l'opération."""
        dossier = self.dossier_photos
        if dossier is None or not isinstance(operation, Mapping) or "photos" not in operation:
            return
        deja = [p["chemin"] for p in (actuelle or {}).get("photos") or []]
        verifier_photos_du_magasin(operation["photos"], dossier, deja)

    @property
    def noms_communes(self) -> Mapping[str, str]:
        """Code INSEE → nom, pour les messages."""
        if self._noms is None:
            self._noms = lire_noms_communes()
        return self._noms

    @property
    def utilisateur(self) -> Utilisateur:
        """Utilisateur à jour (relu dans la base) ; le visiteur si le compte n'existe plus ou est désactivé."""
        if self._utilisateur.est_visiteur or not self._utilisateur.email:
            return VISITEUR
        compte = self._magasin.lire_utilisateur(self._utilisateur.email)
        if compte is None or not compte["actif"]:
            return VISITEUR
        return Utilisateur.depuis_compte(compte)

    def peut(self, action: str, code_insee: str | None = None, operation: Mapping | None = None) -> bool:
        """Même question que :func:`peut`, pour l'utilisateur de cette façade."""
        return peut(self.utilisateur, action, code_insee, operation, self.noms_communes)

    def lire_perimetre(self, action: str) -> frozenset[str] | None:
        """Communes où l'utilisateur de cette façade peut faire ``action`` (voir :func:`lire_perimetre`)."""
        return lire_perimetre(self.utilisateur, action)

    def _exiger(self, utilisateur: Utilisateur, action: str, code_insee: str | None = None,
                operation: Mapping | None = None) -> None:
        exiger(utilisateur, action, code_insee, operation, self.noms_communes)

    @staticmethod
    def _verifier_version(actuelle: dict, version_attendue: Any) -> None:
        """Lève :class:`ConflitVersion` si l'opération lue n'est pas à la version attendue.

        Les droits sont vérifiés sur l'état lu ; le magasin n'écrit ensuite que si la version n'a pas
        bougé : l'état vérifié est donc bien celui qui est modifié.
        """
        if isinstance(version_attendue, numbers.Integral) and not isinstance(version_attendue, (bool, np.bool_)) \
                and actuelle["version"] != int(version_attendue):
            raise ConflitVersion(actuelle["id"], actuelle["version"], int(version_attendue))

    # ---------------------------------------------------------------- écritures

    def creer_operation(self, operation: Mapping, jeton_soumission: str | None = None) -> int:
        """Crée une opération (référent : dans ses communes, « à valider ») ; renvoie son identifiant.

        ``jeton_soumission`` : jeton du formulaire ; un second envoi du même jeton renvoie l'opération déjà
        créée sans en créer une autre (voir :meth:`soumettre_operation`)."""
        return self.soumettre_operation(operation, jeton_soumission)[0]

    def soumettre_operation(self, operation: Mapping, jeton_soumission: str | None = None) -> tuple[int, bool]:
        """Crée l'opération d'une soumission de formulaire, une seule fois par jeton ; renvoie
        ``(identifiant, créée)`` (``créée`` faux : le jeton avait déjà servi)."""
        u = self.utilisateur
        self._exiger(u, "creer")
        self._controler_creation(u, operation)
        return self._magasin.soumettre_operation(operation, u.email, jeton_soumission)

    def importer_lot(self, operations: Sequence[Mapping],
                     progression: Callable[[int, int], Any] | None = None) -> list[int]:
        """Crée un lot d'opérations en **une** transaction (import de fichier) ; renvoie leurs identifiants.

        Droits et règles de :meth:`creer_operation` vérifiés pour tout le lot avant la moindre écriture : un
        seul refus refuse le lot (message préfixé du rang et du nom de l'opération) et rien n'est écrit ;
        puis :meth:`Magasin.importer_lot <donnees.magasin.Magasin.importer_lot>` écrit tout ou rien."""
        u = self.utilisateur
        self._exiger(u, "creer")
        if isinstance(operations, (str, bytes, Mapping)) or not isinstance(operations, Iterable):
            raise ErreurDonnees("Lot d'opérations : liste de dictionnaires attendue.", "operation")
        operations = list(operations)
        for rang, operation in enumerate(operations, start=1):
            try:
                self._controler_creation(u, operation)
            except ErreurDonnees as exc:
                nom = operation.get("nom") if isinstance(operation, Mapping) else None
                contexte = f"Opération n° {rang} du lot" + (f" (« {nom} »)" if isinstance(nom, str) else "")
                exc.args = (f"{contexte} : {exc}",)
                raise
        return self._magasin.importer_lot(operations, u.email, progression=progression)

    def _controler_creation(self, u: Utilisateur, operation: Any) -> None:
        """Droits et règles d'une création (commune, validation, champs tenus par l'application, zones dans la
        commune, photos du magasin) ; lève :class:`ErreurDroits` ou :class:`ErreurDonnees`, n'écrit rien."""
        code = operation.get("code_insee") if isinstance(operation, Mapping) else None
        self._exiger(u, "creer", code_insee=code)
        if not u.est_administrateur and isinstance(operation, Mapping):
            validation = normaliser_valeur(operation.get("validation"))
            if validation not in (None, "a_valider"):
                raise ErreurDroits("Seul un administrateur du syndicat de bassin peut valider une opération ou "
                                   "demander sa correction : laissez la validation « À valider ».", "valider")
            if normaliser_valeur(operation.get("commentaire_validation")) is not None:
                raise ErreurDroits("Le commentaire de validation est rempli par l'administrateur du syndicat "
                                   "de bassin : laissez-le vide.", "valider")
            if normaliser_valeur(operation.get("cree_le")) is not None or \
                    normaliser_valeur(operation.get("cree_par")) not in (None, u.email):
                raise ErreurDroits("Les champs « date de création » et « auteur de la création » sont remplis "
                                   "par l'application : laissez-les vides.", "creer")
            verifier_zones_dans_commune(code, operation.get("zones"), self.contours_communes, self.noms_communes)
        self._verifier_photos(operation)

    def modifier_operation(self, operation_id: int, version_attendue: int, modifications: Mapping) -> int:
        """Modifie une opération ; celle d'un référent repasse « à valider » si elle était validée ou à corriger."""
        u = self.utilisateur
        self._exiger(u, "modifier")
        actuelle = self._magasin.lire_operation(operation_id)
        nouveau_code = modifications.get("code_insee") if isinstance(modifications, Mapping) else None
        self._exiger(u, "modifier", code_insee=nouveau_code, operation=actuelle)
        self._verifier_version(actuelle, version_attendue)
        if not u.est_administrateur and isinstance(modifications, Mapping):
            reelles = detecter_changement(actuelle, modifications)
            demandee = normaliser_valeur(modifications.get("validation"))
            if "validation" in modifications and demandee != actuelle["validation"] \
                    and not (demandee == "a_valider" and reelles):
                raise ErreurDroits("Seul un administrateur du syndicat de bassin peut valider une opération ou "
                                   "demander sa correction ; une opération modifiée repasse d'elle-même "
                                   "« À valider ».", "valider")
            if "commentaire_validation" in modifications and \
                    normaliser_valeur(modifications["commentaire_validation"]) \
                    != normaliser_valeur(actuelle["commentaire_validation"]):
                raise ErreurDroits("Le commentaire de validation est rempli par l'administrateur du syndicat "
                                   "de bassin : vous ne pouvez pas le modifier.", "valider")
            if actuelle["validation"] != "a_valider" and reelles:
                modifications = {**modifications, "validation": "a_valider"}
            if "zones" in modifications:
                verifier_zones_dans_commune(nouveau_code or actuelle["code_insee"], modifications["zones"],
                                            self.contours_communes, self.noms_communes)
        self._verifier_photos(modifications, actuelle)
        return self._magasin.modifier_operation(operation_id, version_attendue, modifications, u.email)

    def supprimer_operation(self, operation_id: int, version_attendue: int) -> int:
        """Suppression logique (référent : dans ses communes, tant qu'elle n'est pas validée)."""
        u = self.utilisateur
        self._exiger(u, "supprimer")
        actuelle = self._magasin.lire_operation(operation_id)
        self._exiger(u, "supprimer", operation=actuelle)
        self._verifier_version(actuelle, version_attendue)
        return self._magasin.supprimer_operation(operation_id, version_attendue, u.email)

    def restaurer_operation(self, operation_id: int) -> int:
        """Restaure une opération supprimée (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "restaurer")
        return self._magasin.restaurer_operation(operation_id, u.email)

    def valider_operation(self, operation_id: int, version_attendue: int, decision: str,
                          commentaire: str | None = None) -> int:
        """Valide (``validee``) ou renvoie à corriger (``a_corriger``, commentaire obligatoire) ; administrateur."""
        if decision not in ("validee", "a_corriger"):
            raise ErreurDonnees(f"Décision « {decision} » inconnue : « validee » (valider) ou « a_corriger » "
                                "(demander une correction).", "operation", "validation")
        u = self.utilisateur
        self._exiger(u, "valider" if decision == "validee" else "demander_correction")
        if isinstance(commentaire, str):
            commentaire = commentaire.strip() or None
        if decision == "a_corriger" and not commentaire:
            raise ErreurDonnees("Pour demander une correction, expliquez dans le commentaire ce qu'il faut "
                                "corriger.", "operation", "commentaire_validation")
        return self._magasin.modifier_operation(
            operation_id, version_attendue, {"validation": decision, "commentaire_validation": commentaire}, u.email)

    # ---------------------------------------------------------------- lectures

    def lire_operation(self, operation_id: int) -> dict:
        """Une opération, si l'utilisateur peut la lire ; vue publique s'il n'en voit pas les détails."""
        u = self.utilisateur
        operation = self._magasin.lire_operation(operation_id)
        self._exiger(u, "lire", operation=operation)
        if peut(u, "lire_details", operation=operation):
            return operation
        return masquer_details(operation)

    def lire_operations(self, inclure_supprimees: bool = False):
        """Opérations lisibles (GeoDataFrame du magasin, filtré ; voir :func:`filtrer_operations`)."""
        u = self.utilisateur
        if inclure_supprimees:
            self._exiger(u, "lire_supprimees")
        return filtrer_operations(u, self._magasin.lire_operations(inclure_supprimees=inclure_supprimees))

    def lire_zones(self, inclure_supprimees: bool = False):
        """Zones des opérations lisibles (aucune colonne personnelle dans cette table)."""
        u = self.utilisateur
        if inclure_supprimees:
            self._exiger(u, "lire_supprimees")
        zones = self._magasin.lire_zones(inclure_supprimees=inclure_supprimees)
        if lire_perimetre(u, "lire_details") is None:  # lit tout, sans restriction de commune
            return zones
        visibles = reperer_lignes_detaillees(u, zones["code_insee"]) | zones["validation"].eq("validee").to_numpy()
        return zones[visibles]

    def _operations_detaillees(self, u: Utilisateur) -> set[int]:
        """Identifiants des opérations (non supprimées) dont l'utilisateur voit tous les détails."""
        table = self._magasin.lire_operations()
        return {int(i) for i in table.loc[reperer_lignes_detaillees(u, table["code_insee"]), "id"]}

    def lire_financements(self) -> pd.DataFrame:
        """Financements des opérations dont l'utilisateur voit les coûts."""
        u = self.utilisateur
        self._exiger(u, "lire_details")
        return filtrer_financements(u, self._magasin.lire_financements())

    def lire_photos(self, operation_id: int | None = None) -> pd.DataFrame:
        """Photos des opérations lisibles."""
        u = self.utilisateur
        if operation_id is not None:
            self.lire_operation(operation_id)  # lève ErreurDroits si l'opération n'est pas lisible
            return self._magasin.lire_photos(operation_id)
        photos = self._magasin.lire_photos()
        if lire_perimetre(u, "lire_details") is None:  # lit tout, sans restriction de commune
            return photos
        lisibles = filtrer_operations(u, self._magasin.lire_operations())["id"]
        return photos[photos["operation_id"].isin(set(int(i) for i in lisibles))]

    def lire_journal(self, operation_id: int | None = None) -> pd.DataFrame:
        """Journal : opérations lisibles en détail ; comptes pour l'administrateur seulement."""
        u = self.utilisateur
        self._exiger(u, "lire_journal")
        if operation_id is not None:
            operation = self._magasin.lire_operation(operation_id)
            if operation["supprimee"]:
                self._exiger(u, "lire_supprimees", operation=operation)
            self._exiger(u, "lire_journal", operation=operation)
            return self._magasin.lire_journal(operation_id)
        journal = self._magasin.lire_journal()
        if u.est_administrateur:
            return journal
        permises = self._operations_detaillees(u)
        garder = journal["table_cible"].eq("operation") & journal["enregistrement_id"].isin(permises)
        return journal[garder.to_numpy()]
