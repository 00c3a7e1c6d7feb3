"""Comptes dans le magasin : création, lecture, modification, connexions réussies ou non.

Les règles des comptes (mots de passe, rôles, blocage) vivent dans :mod:`donnees.comptes`, qui écrit
par ces méthodes ; chaque changement d'un compte a sa ligne de journal (jamais l'empreinte du mot de
passe).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from donnees import nomenclatures
from donnees.magasin.convertisseurs import (
    MOTIF_EMAIL,
    _booleen,
    _code,
    _communes,
    _erreur,
    _horodatage,
    _texte,
    _verifier_auteur,
    lire_resultat,
)
from donnees.magasin.journal import _jsonable, _ligne_journal, _maintenant
from donnees.magasin.tables import table_utilisateur
from donnees.erreurs import ErreurDonnees


class ComptesMagasin:
    """Méthodes du magasin pour les comptes (mêlées à :class:`donnees.magasin.Magasin`)."""

    def creer_utilisateur(self, email: str, nom: str, role: str, communes: Any, mot_de_passe_hash: str | None,
                          actif: bool = True, auteur: str = "systeme") -> int:
        """Crée un compte (le mot de passe arrive déjà haché) ; renvoie son identifiant."""
        contexte = "Utilisateur"
        auteur = _verifier_auteur(auteur)
        if not isinstance(email, str) or not MOTIF_EMAIL.match(email.strip()):
            raise _erreur(contexte, "email", f"« {email} » n'est pas une adresse valide (ex. "
                                             "prenom.nom@mairie.fr).", couche="utilisateur")
        email = email.strip().lower()
        nom = _texte(contexte, "nom", nom, obligatoire=True)
        role = _code(contexte, "role", role, nomenclatures.ROLES)
        codes = _communes(contexte, communes)
        if role == "referent" and not codes:
            raise _erreur(contexte, "communes", "un référent commune doit avoir au moins une commune. "
                                                "Indiquez son ou ses codes INSEE.", couche="utilisateur")
        if mot_de_passe_hash is not None and not isinstance(mot_de_passe_hash, str):
            raise _erreur(contexte, "mot_de_passe_hash", "texte attendu.", couche="utilisateur")
        actif = _booleen(contexte, "actif", actif, defaut=True)
        maintenant = _maintenant()
        ligne = {"email": email, "nom": nom, "role": role, "communes": ",".join(codes),
                 "mot_de_passe_hash": mot_de_passe_hash, "actif": actif, "cree_le": maintenant,
                 "echecs_connexion": 0}
        doublon = ErreurDonnees(f"Un compte existe déjà pour l'adresse « {email} ».", "utilisateur", "email")
        try:
            with self._ecrire() as conn:
                if conn.execute(select(table_utilisateur.c.id).where(table_utilisateur.c.email == email)).first():
                    raise doublon
                identifiant = int(conn.execute(table_utilisateur.insert(), ligne).inserted_primary_key[0])
                resume = {"email": email, "nom": nom, "role": role, "communes": codes, "actif": actif}
                self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", "utilisateur",
                                                            identifiant, resume)])
        except IntegrityError as exc:
            raise doublon from exc
        return identifiant

    def lire_utilisateurs(self) -> pd.DataFrame:
        """Comptes (sans les empreintes de mot de passe), ``communes`` en liste de codes INSEE."""
        ut = table_utilisateur
        colonnes = [c for c in ut.c if c.name != "mot_de_passe_hash"]
        with self._lire() as conn:
            resultat = conn.execute(select(*colonnes).order_by(ut.c.id))
            table = lire_resultat(resultat)
        table["communes"] = [[c for c in (v or "").split(",") if c] for v in table["communes"]]
        return table

    def lire_utilisateur(self, email: str) -> dict | None:
        """Compte d'une adresse (avec l'empreinte du mot de passe), ou ``None``."""
        if not isinstance(email, str):
            return None
        with self._lire() as conn:
            ligne = conn.execute(select(table_utilisateur)
                                 .where(table_utilisateur.c.email == email.strip().lower())).mappings().first()
        if ligne is None:
            return None
        compte = dict(ligne)
        compte["communes"] = [c for c in (compte["communes"] or "").split(",") if c]
        return compte


    CHAMPS_UTILISATEUR_MODIFIABLES = ("nom", "role", "communes", "actif", "mot_de_passe_hash")

    def modifier_utilisateur(self, email: str, modifications: Mapping, auteur: str) -> bool:
        """Modifie un compte (nom, rôle, communes, actif, empreinte) ; renvoie ``True`` s'il a changé.

        Une nouvelle empreinte remet à zéro les échecs de connexion et lève le blocage ; elle n'est
        jamais journalisée. Retirer le rôle ou désactiver le dernier administrateur actif est refusé.
        """
        contexte = "Utilisateur"
        auteur = _verifier_auteur(auteur)
        if not isinstance(modifications, Mapping):
            raise ErreurDonnees(f"{contexte} : dictionnaire de modifications attendu.", "utilisateur")
        admis = self.CHAMPS_UTILISATEUR_MODIFIABLES
        inconnus = [champ for champ in modifications if champ not in admis]
        if inconnus:
            raise _erreur(contexte, str(inconnus[0]), f"non modifiable. Champs modifiables : {', '.join(admis)}.",
                          couche="utilisateur")
        ut = table_utilisateur
        adresse = email.strip().lower() if isinstance(email, str) else email
        with self._ecrire() as conn:
            ligne = conn.execute(select(ut).where(ut.c.email == adresse)).mappings().first()
            if ligne is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            contexte = f"Utilisateur « {adresse} »"
            avant = {"nom": ligne["nom"], "role": ligne["role"],
                     "communes": [c for c in (ligne["communes"] or "").split(",") if c],
                     "actif": bool(ligne["actif"])}
            apres = dict(avant)
            if "nom" in modifications:
                apres["nom"] = _texte(contexte, "nom", modifications["nom"], obligatoire=True)
            if "role" in modifications:
                apres["role"] = _code(contexte, "role", modifications["role"], nomenclatures.ROLES)
            if "communes" in modifications:
                apres["communes"] = _communes(contexte, modifications["communes"])
            if "actif" in modifications:
                apres["actif"] = _booleen(contexte, "actif", modifications["actif"], defaut=avant["actif"])
            if apres["role"] == "referent" and not apres["communes"]:
                raise _erreur(contexte, "communes", "un référent commune doit avoir au moins une commune. "
                                                    "Indiquez son ou ses codes INSEE.", couche="utilisateur")
            diff: dict[str, Any] = {champ: [avant[champ], apres[champ]] for champ in avant
                                    if avant[champ] != apres[champ]}
            valeurs: dict[str, Any] = {champ: apres[champ] for champ in diff}
            if "communes" in valeurs:
                valeurs["communes"] = ",".join(valeurs["communes"])
            if "mot_de_passe_hash" in modifications:
                empreinte = modifications["mot_de_passe_hash"]
                if empreinte is not None and not isinstance(empreinte, str):
                    raise _erreur(contexte, "mot_de_passe_hash", "texte attendu.", couche="utilisateur")
                if empreinte != ligne["mot_de_passe_hash"]:
                    valeurs.update(mot_de_passe_hash=empreinte, echecs_connexion=0, bloque_jusqua=None)
                    diff["mot_de_passe"] = "supprimé" if empreinte is None else "modifié"
            if not diff:
                return False
            etait_admin = avant["role"] == "administrateur" and avant["actif"]
            reste_admin = apres["role"] == "administrateur" and apres["actif"]
            if etait_admin and not reste_admin:
                autres = conn.execute(select(func.count()).select_from(ut).where(
                    ut.c.role == "administrateur", ut.c.actif.is_(True), ut.c.id != ligne["id"])).scalar_one()
                if not autres:
                    raise ErreurDonnees(f"{adresse} est le dernier administrateur actif : nommez d'abord un "
                                        "autre administrateur avant de lui retirer ce rôle ou de le désactiver.",
                                        "utilisateur", "role")
            conn.execute(update(ut).where(ut.c.id == ligne["id"]).values(**valeurs))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", "utilisateur",
                                                        ligne["id"], diff)])
        return True

    def enregistrer_echec_connexion(self, email: str, maintenant: datetime, seuil: int,
                                    duree_blocage: timedelta) -> dict | None:
        """Compte un échec de connexion ; à partir de ``seuil`` échecs consécutifs, bloque le compte.

        Le compteur est incrémenté dans la base (sûr en cas de tentatives simultanées). Renvoie
        ``{"echecs_connexion", "bloque_jusqua"}``, ou ``None`` si l'adresse n'a pas de compte.
        """
        maintenant = _horodatage("Connexion", "maintenant", maintenant) or _maintenant()
        if isinstance(seuil, bool) or not isinstance(seuil, numbers.Integral) or seuil < 1:
            raise ErreurDonnees(f"Seuil de blocage invalide ({seuil!r}) : entier ≥ 1 attendu.", "utilisateur")
        if not isinstance(duree_blocage, timedelta):
            raise ErreurDonnees("Durée de blocage : timedelta attendu.", "utilisateur")
        if not isinstance(email, str):
            return None
        ut = table_utilisateur
        filtre = ut.c.email == email.strip().lower()
        with self._ecrire() as conn:
            resultat = conn.execute(update(ut).where(filtre).values(echecs_connexion=ut.c.echecs_connexion + 1))
            if resultat.rowcount != 1:
                return None
            ligne = conn.execute(select(ut.c.id, ut.c.email, ut.c.echecs_connexion, ut.c.bloque_jusqua)
                                 .where(filtre)).first()
            echecs = int(ligne.echecs_connexion)
            bloque = ligne.bloque_jusqua
            diff: dict[str, Any] = {"echecs_connexion": [echecs - 1, echecs]}
            if echecs >= seuil:
                nouveau = maintenant + duree_blocage
                conn.execute(update(ut).where(ut.c.id == ligne.id).values(bloque_jusqua=nouveau))
                diff["bloque_jusqua"] = [_jsonable(bloque), _jsonable(nouveau)]
                bloque = nouveau
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), "systeme", "modification", "utilisateur",
                                                        ligne.id, diff)])
        return {"echecs_connexion": echecs, "bloque_jusqua": bloque}

    def enregistrer_connexion(self, email: str, maintenant: datetime, mot_de_passe_hash: str | None = None,
                              verifier_blocage: bool = False) -> bool:
        """Connexion réussie : échecs remis à zéro, blocage levé, heure notée (et empreinte renouvelée).

        ``verifier_blocage`` : la remise à zéro n'a lieu que si le compte n'est pas bloqué à ``maintenant``,
        vérifié dans la même instruction SQL que l'écriture (une rafale d'échecs simultanés qui vient de
        bloquer le compte l'emporte sur le bon mot de passe envoyé en même temps). Renvoie False si le
        compte était bloqué (rien n'est écrit), True sinon.
        """
        maintenant = _horodatage("Connexion", "maintenant", maintenant) or _maintenant()
        ut = table_utilisateur
        adresse = email.strip().lower() if isinstance(email, str) else email
        with self._ecrire() as conn:
            ligne = conn.execute(select(ut.c.id, ut.c.echecs_connexion, ut.c.bloque_jusqua, ut.c.derniere_connexion)
                                 .where(ut.c.email == adresse)).first()
            if ligne is None:
                raise ErreurDonnees(f"Aucun compte pour l'adresse « {email} ».", "utilisateur", "email")
            valeurs: dict[str, Any] = {"echecs_connexion": 0, "bloque_jusqua": None, "derniere_connexion": maintenant}
            if mot_de_passe_hash is not None:
                valeurs["mot_de_passe_hash"] = mot_de_passe_hash
            filtre = ut.c.id == ligne.id
            if verifier_blocage:
                filtre = filtre & (ut.c.bloque_jusqua.is_(None) | (ut.c.bloque_jusqua <= maintenant))
            if conn.execute(update(ut).where(filtre).values(**valeurs)).rowcount != 1:
                return False
            diff: dict[str, Any] = {"derniere_connexion": [_jsonable(ligne.derniere_connexion),
                                                           _jsonable(maintenant)]}
            if ligne.echecs_connexion:
                diff["echecs_connexion"] = [int(ligne.echecs_connexion), 0]
            if ligne.bloque_jusqua is not None:
                diff["bloque_jusqua"] = [_jsonable(ligne.bloque_jusqua), None]
            if mot_de_passe_hash is not None:
                diff["mot_de_passe"] = "empreinte renouvelée"
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), adresse, "modification", "utilisateur",
                                                        ligne.id, diff)])
        return True

