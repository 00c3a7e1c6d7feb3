"""Annuaire des membres (issue 16, partie 4) : fiches d'annuaire dans le magasin.

Une fiche par compte qui **consent** à figurer dans l'annuaire (case explicite, date gardée). Le nom, le rôle et les
communes viennent du compte, relus à chaque lecture (jamais recopiés) : un compte désactivé sort aussitôt de
l'annuaire. Les champs facultatifs (fonction, téléphone professionnel, présentation, sujets de compétence) ne sont
montrés que si le membre les a remplis ; son adresse seulement s'il l'a choisi (``email_visible``) ; sa fiche dans les
autres territoires de l'instance seulement s'il l'a choisi (``visible_autres_territoires``). Retirer son consentement
efface les champs facultatifs et sort la fiche de l'annuaire, dans la même transaction.

Le journal ne garde que les **noms** des champs changés, jamais leurs valeurs (téléphone, présentation) : une donnée
personnelle retirée ne survit pas dans l'historique. Les droits (chacun sa fiche, modération par le syndicat) sont
vérifiés par la façade (:mod:`donnees.droits.annuaire`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from donnees.erreurs import ErreurDonnees
from donnees.magasin.convertisseurs import _verifier_auteur, _verifier_identifiant, lire_resultat
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.notifications import ajouter_notifications, extraire
from donnees.magasin.tables import table_fiche_annuaire, table_utilisateur
from donnees.nomenclatures import lire_libelles
from donnees.validation import lire_parametres_justifies

CHEMIN_PARAMETRES = Path(__file__).resolve().parents[1] / "parametres_annuaire.json"
GENRE_NOTIFICATION = "fiche_annuaire_moderee"
LIEN_ANNUAIRE = "/annuaire"
COUCHE = "fiche_annuaire"
CHAMPS_FACULTATIFS = ("fonction", "telephone", "email_visible", "presentation", "sujets", "visible_autres_territoires")
MOTIF_TELEPHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,24}$")
CONTROLES_PERMIS = "\n\t"
COLONNES_ANNUAIRE = ["id", "nom", "role", "communes", "fonction", "telephone", "email", "presentation", "sujets",
                     "visible_autres_territoires", "masquee", "motif_masquage", "modifie_le"]


@lru_cache(maxsize=None)
def lire_parametres_annuaire() -> dict:
    """Limites des fiches d'annuaire (``donnees/parametres_annuaire.json``, avec leur justification)."""
    return lire_parametres_justifies(CHEMIN_PARAMETRES, ("longueur_max_fonction", "longueur_max_presentation",
                                                         "longueur_max_motif", "nombre_max_sujets"),
                                     "parametres_annuaire")


@lru_cache(maxsize=None)
def lire_sujets_annuaire() -> dict[str, str]:
    """Sujets de compétence proposés (``donnees/nomenclatures/sujets_annuaire.csv``) : code → libellé."""
    return lire_libelles("sujets_annuaire.csv")


def _texte_facultatif(valeur: Any, champ: str, libelle: str, longueur_max: int, une_ligne: bool) -> str | None:
    """Texte saisi nettoyé, ou None s'il est vide ; :class:`ErreurDonnees` s'il est trop long ou porte un caractère
    de contrôle."""
    if valeur is None or (isinstance(valeur, float) and valeur != valeur):
        return None
    if not isinstance(valeur, str):
        raise ErreurDonnees(f"Fiche d'annuaire, champ « {libelle} » ({champ}) : texte attendu.", COUCHE, champ)
    texte = valeur.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not texte:
        return None
    if len(texte) > longueur_max:
        raise ErreurDonnees(f"Fiche d'annuaire, champ « {libelle} » ({champ}) : {len(texte)} caractères, au plus "
                            f"{longueur_max} ; raccourcissez-le.", COUCHE, champ)
    permis = "" if une_ligne else CONTROLES_PERMIS
    interdits = sorted({f"U+{ord(c):04X}" for c in texte if (ord(c) < 32 or ord(c) == 127) and c not in permis})
    if interdits:
        raise ErreurDonnees(f"Fiche d'annuaire, champ « {libelle} » ({champ}) : caractère(s) de contrôle "
                            f"{', '.join(interdits)} refusé(s) ; retirez-les"
                            + (" (une seule ligne)." if une_ligne else "."), COUCHE, champ)
    return texte


def _booleen(valeur: Any, champ: str, libelle: str) -> bool:
    if isinstance(valeur, bool):
        return valeur
    if valeur is None:
        return False
    raise ErreurDonnees(f"Fiche d'annuaire, champ « {libelle} » ({champ}) : oui ou non attendu (reçu « "
                        f"{str(valeur)[:40]} »).", COUCHE, champ)


def verifier_fiche(valeurs: Any) -> dict:
    """Champs facultatifs d'une fiche, contrôlés et nettoyés ; :class:`ErreurDonnees` en français (champ nommé,
    correction) sinon. Un champ absent est vide."""
    if not isinstance(valeurs, dict):
        raise ErreurDonnees("Fiche d'annuaire : dictionnaire de champs attendu.", COUCHE)
    inconnus = sorted(set(valeurs) - set(CHAMPS_FACULTATIFS))
    if inconnus:
        raise ErreurDonnees(f"Fiche d'annuaire : champ(s) {', '.join(inconnus)} inconnu(s) ; champs possibles : "
                            f"{', '.join(CHAMPS_FACULTATIFS)} (nom, rôle et communes viennent du compte).", COUCHE,
                            inconnus[0])
    parametres = lire_parametres_annuaire()
    telephone = _texte_facultatif(valeurs.get("telephone"), "telephone", "téléphone professionnel", 40, True)
    if telephone is not None and not MOTIF_TELEPHONE.match(telephone):
        raise ErreurDonnees(f"Fiche d'annuaire, champ « téléphone professionnel » (telephone) : « {telephone[:40]} » "
                            "n'est pas un numéro (chiffres, espaces, points, tirets, « + » en tête ; ex. "
                            "04 67 00 00 00).", COUCHE, "telephone")
    sujets_connus = lire_sujets_annuaire()
    brut = valeurs.get("sujets") or []
    if isinstance(brut, str):
        brut = [s for s in brut.split(",") if s.strip()]
    if not isinstance(brut, (list, tuple, set)):
        raise ErreurDonnees("Fiche d'annuaire, champ « sujets de compétence » (sujets) : liste de codes attendue.",
                            COUCHE, "sujets")
    sujets = []
    for sujet in brut:
        code = str(sujet).strip()
        if code not in sujets_connus:
            raise ErreurDonnees(f"Fiche d'annuaire, champ « sujets de compétence » (sujets) : « {code[:40]} » "
                                f"inconnu ; choisissez parmi {', '.join(sujets_connus)}.", COUCHE, "sujets")
        if code not in sujets:
            sujets.append(code)
    if len(sujets) > parametres["nombre_max_sujets"]:
        raise ErreurDonnees(f"Fiche d'annuaire, champ « sujets de compétence » (sujets) : {len(sujets)} sujets, au "
                            f"plus {parametres['nombre_max_sujets']} ; gardez vos principaux.", COUCHE, "sujets")
    return {
        "fonction": _texte_facultatif(valeurs.get("fonction"), "fonction", "fonction ou poste",
                                      parametres["longueur_max_fonction"], True),
        "telephone": telephone,
        "email_visible": _booleen(valeurs.get("email_visible"), "email_visible", "adresse visible"),
        "presentation": _texte_facultatif(valeurs.get("presentation"), "presentation", "présentation courte",
                                          parametres["longueur_max_presentation"], False),
        "sujets": ",".join(sujets) or None,
        "visible_autres_territoires": _booleen(valeurs.get("visible_autres_territoires"),
                                               "visible_autres_territoires", "visible dans les autres territoires"),
    }


def _champs_changes(avant: dict | None, apres: dict) -> list[str]:
    return sorted(c for c in apres if (avant or {}).get(c) != apres[c])


VIDE = {"fonction": None, "telephone": None, "email_visible": False, "presentation": None, "sujets": None,
        "visible_autres_territoires": False}


class AnnuaireMagasin:
    """Méthodes de :class:`donnees.magasin.Magasin` pour l'annuaire des membres."""

    def lire_fiche_annuaire(self, email: str) -> dict | None:
        """Fiche du compte ``email`` telle qu'enregistrée (consentie ou retirée), ou None s'il n'en a jamais eu."""
        f = table_fiche_annuaire.c
        with self._lire() as conn:
            ligne = conn.execute(select(table_fiche_annuaire).where(f.email == str(email))).first()
        if ligne is None:
            return None
        fiche = dict(ligne._mapping)
        fiche["sujets"] = [s for s in (fiche["sujets"] or "").split(",") if s]
        for cle in ("consentement", "email_visible", "visible_autres_territoires", "masquee"):
            fiche[cle] = bool(fiche[cle])
        return fiche

    def lire_fiches_annuaire(self, inclure_masquees: bool = False, hors_territoire: bool = False) -> pd.DataFrame:
        """Fiches de l'annuaire : consenties, de comptes actifs (non masquées sauf sur demande ; seulement celles
        visibles dans les autres territoires avec ``hors_territoire``). Nom, rôle et communes (liste) relus du
        compte ; ``email`` seulement si le membre l'a rendue visible (None sinon). Triées par nom."""
        f, u = table_fiche_annuaire.c, table_utilisateur.c
        requete = (select(f.id, u.nom, u.role, u.communes, f.fonction, f.telephone, f.email_visible,
                          u.email.label("email_compte"), f.presentation, f.sujets, f.visible_autres_territoires,
                          f.masquee, f.motif_masquage, f.modifie_le)
                   .join(table_utilisateur, u.email == f.email)
                   .where(f.consentement.is_(True), u.actif.is_(True)).order_by(u.nom, f.id))
        if not inclure_masquees:
            requete = requete.where(f.masquee.is_(False))
        if hors_territoire:
            requete = requete.where(f.visible_autres_territoires.is_(True))
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete))
        if table.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in COLONNES_ANNUAIRE})
        table["email"] = [e if bool(v) else None for e, v in zip(table["email_compte"], table["email_visible"])]
        table["communes"] = [[c for c in str(v or "").split(",") if c] for v in table["communes"]]
        table["sujets"] = [[s for s in str(v or "").split(",") if s] for v in table["sujets"]]
        for cle in ("visible_autres_territoires", "masquee"):
            table[cle] = table[cle].astype(bool)
        return table[COLONNES_ANNUAIRE].reset_index(drop=True)

    def ecrire_fiche_annuaire(self, email: str, consentement: Any, valeurs: Any, auteur: str) -> int:
        """Crée ou modifie la fiche du compte ``email`` ; ``consentement`` doit être ``True`` (case cochée) : sans lui,
        rien n'est écrit. Journal : noms des champs changés seulement. Renvoie l'identifiant de la fiche."""
        auteur = _verifier_auteur(auteur)
        if consentement is not True:
            raise ErreurDonnees("Fiche d'annuaire : cochez la case de consentement pour figurer dans l'annuaire "
                                "(sans elle, rien n'est enregistré).", COUCHE, "consentement")
        champs = verifier_fiche(valeurs)
        t, f, u = table_fiche_annuaire, table_fiche_annuaire.c, table_utilisateur.c
        maintenant = _maintenant()
        with self._ecrire() as conn:
            if conn.execute(select(u.id).where(u.email == str(email), u.actif.is_(True))).first() is None:
                raise ErreurDonnees(f"Fiche d'annuaire : aucun compte actif pour « {str(email)[:80]} ».", COUCHE,
                                    "email")
            ligne = conn.execute(select(t).where(f.email == str(email))).first()
            if ligne is None:
                identifiant = int(conn.execute(t.insert().values(
                    email=str(email), consentement=True, consenti_le=maintenant, masquee=False, modifie_le=maintenant,
                    **champs)).inserted_primary_key[0])
                self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "creation", COUCHE, identifiant,
                                                            {"consentement": True, "champs": _champs_changes(
                                                                VIDE, champs)})])
                return identifiant
            avant = dict(ligne._mapping)
            diff = {"champs": _champs_changes(avant, champs)}
            valeurs_sql = dict(champs, modifie_le=maintenant)
            if not avant["consentement"]:
                valeurs_sql.update(consentement=True, consenti_le=maintenant)
                diff["consentement"] = [False, True]
            if diff["champs"] or "consentement" in diff:
                conn.execute(update(t).where(f.id == ligne.id).values(**valeurs_sql))
                self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification", COUCHE,
                                                            int(ligne.id), diff)])
            return int(ligne.id)

    def retirer_fiche_annuaire(self, email: str, auteur: str) -> bool:
        """Retire le consentement du compte ``email`` : champs facultatifs effacés, fiche hors de l'annuaire (même
        transaction) ; faux s'il n'y avait pas de fiche consentie."""
        auteur = _verifier_auteur(auteur)
        t, f = table_fiche_annuaire, table_fiche_annuaire.c
        maintenant = _maintenant()
        with self._ecrire() as conn:
            ligne = conn.execute(select(f.id, f.consentement).where(f.email == str(email))).first()
            if ligne is None or not ligne.consentement:
                return False
            conn.execute(update(t).where(f.id == ligne.id).values(consentement=False, consenti_le=None,
                                                                   modifie_le=maintenant, **VIDE))
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "suppression", COUCHE, int(ligne.id),
                                                        {"consentement": [True, False],
                                                         "champs": "effacés (retrait du consentement)"})])
        return True

    def masquer_fiche_annuaire(self, fiche_id: int, motif: Any, auteur: str) -> None:
        """Masque une fiche (modération du syndicat) ; motif obligatoire ; journalisé."""
        auteur = _verifier_auteur(auteur)
        motif = _texte_facultatif(motif, "motif_masquage", "motif", lire_parametres_annuaire()["longueur_max_motif"],
                                  False)
        if motif is None:
            raise ErreurDonnees("Masquage d'une fiche d'annuaire : motif vide ; dites pourquoi (il est gardé dans le "
                                "journal).", COUCHE, "motif_masquage")
        self._basculer_fiche(fiche_id, True, auteur, motif)

    def restaurer_fiche_annuaire(self, fiche_id: int, auteur: str) -> None:
        """Rend visible une fiche masquée ; journalisé."""
        self._basculer_fiche(fiche_id, False, _verifier_auteur(auteur), None)

    def _basculer_fiche(self, fiche_id: int, masquer: bool, auteur: str, motif: str | None) -> None:
        fiche_id = _verifier_identifiant(fiche_id, "fiche_id")
        t, f = table_fiche_annuaire, table_fiche_annuaire.c
        maintenant = _maintenant()
        with self._ecrire() as conn:
            actuel = conn.execute(select(f.masquee, f.motif_masquage, f.consentement, f.email)
                                  .where(f.id == fiche_id)).first()
            if actuel is None or not actuel.consentement:
                raise ErreurDonnees(f"Fiche d'annuaire n° {fiche_id} introuvable.", COUCHE, "id")
            if bool(actuel.masquee) == masquer:
                etat = "déjà masquée" if masquer else "n'est pas masquée"
                raise ErreurDonnees(f"Fiche d'annuaire n° {fiche_id} : {etat}.", COUCHE, "masquee")
            valeurs = ({"masquee": True, "masquee_par": auteur, "masquee_le": maintenant, "motif_masquage": motif}
                       if masquer else {"masquee": False, "masquee_par": None, "masquee_le": None,
                                        "motif_masquage": None})
            conn.execute(update(t).where(f.id == fiche_id).values(**valeurs))
            diff = {"masquee": [not masquer, masquer],
                    "motif_masquage": [None, motif] if masquer else [actuel.motif_masquage, None]}
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "suppression" if masquer
                                                        else "restauration", COUCHE, fiche_id, diff)])
            # Le membre est prévenu (dans la même transaction), avec le motif : sa fiche ne disparaît pas en silence.
            texte = (f"Votre fiche de l'annuaire a été masquée par le syndicat de bassin. Motif : {extraire(motif)}"
                     if masquer else "Votre fiche de l'annuaire a été rétablie par le syndicat de bassin.")
            ajouter_notifications(conn, [actuel.email], GENRE_NOTIFICATION, texte, LIEN_ANNUAIRE, maintenant)


__all__ = ["CHAMPS_FACULTATIFS", "AnnuaireMagasin", "lire_parametres_annuaire", "lire_sujets_annuaire",
           "verifier_fiche"]
