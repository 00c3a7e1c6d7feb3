"""Ressources de la communauté de pratiques (issue 16, partie 1) : bibliothèque partagée, liens vers les
opérations, thèmes suivis.

Une ressource est un fichier (contrôlé par :mod:`donnees.fichiers_ressources`, stocké sous ``ressources/`` dans le
dossier de données du territoire) ou un lien ``http(s)``, avec genre, titre, résumé, thèmes et communes, échéance
(appels à projets, subventions), auteur, statut (publiée, ou masquée par le syndicat avec motif), partage avec les
autres territoires de l'instance et version (verrouillage optimiste).

Chaque écriture se fait en une transaction avec sa ligne de journal (table ``ressource``) et les notifications
qu'elle cause (``nouvelle_ressource`` aux membres qui suivent l'un de ses thèmes, sauf l'auteur). Le fichier est
écrit avant la transaction et retiré si elle échoue : jamais de ligne sans fichier ni de fichier neuf orphelin.
Une saisie invalide lève :class:`ErreurDonnees` (message français qui nomme le champ) sans rien écrire. Les droits
sont vérifiés par la façade (:mod:`donnees.droits.ressources`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from donnees.cadastre import MOTIF_CODE_INSEE
from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import (
    controler_fichier,
    lire_genres_ressource,
    lire_octets_fichier,
    lire_parametres_ressources,
    lire_themes_ressource,
    retirer_fichier,
    stocker_fichier,
    verifier_url,
)
from donnees.format import neutraliser_controles
from donnees.magasin.convertisseurs import _verifier_auteur, _verifier_identifiant, lire_resultat
from donnees.magasin.echanges import verifier_texte
from donnees.magasin.journal import _ligne_journal, _maintenant
from donnees.magasin.notifications import ajouter_notifications, extraire, lire_parametres_echanges
from donnees.magasin.tables import (
    table_operation,
    table_ressource,
    table_ressource_operation,
    table_suivi_theme,
    table_utilisateur,
)

TABLE_JOURNAL = "ressource"
COLONNES_RESSOURCE = [c.name for c in table_ressource.columns]
CHAMPS_FICHIER = ("fichier_nom", "fichier_chemin", "fichier_type", "fichier_taille", "fichier_sha256")
CHAMPS_SAISIE = ("genre", "titre", "resume", "url", "echeance", "communes", "themes", "partagee_territoires")
LIEN_PAGE = "/ressources"


def lien_ressource(ressource_id: int) -> str:
    """Lien interne de la fiche d'une ressource (notifications)."""
    return f"{LIEN_PAGE}?id={int(ressource_id)}"


def _liste(valeur) -> list[str]:
    if valeur is None or (isinstance(valeur, float) and valeur != valeur):
        return []
    if isinstance(valeur, str):
        valeur = valeur.split(",")
    return [str(v).strip() for v in valeur if str(v).strip()]


def _echeance(valeur) -> date | None:
    if valeur is None or (isinstance(valeur, float) and valeur != valeur) or valeur == "":
        return None
    if isinstance(valeur, datetime):
        return valeur.date()
    if isinstance(valeur, date):
        return valeur
    try:
        return date.fromisoformat(str(valeur).strip())
    except ValueError:
        raise ErreurDonnees(f"Ressource, champ « échéance » (echeance) : « {neutraliser_controles(valeur)[:40]} » "
                            "n'est pas une date (AAAA-MM-JJ, ex. 2027-03-31).", "ressource", "echeance") from None


def verifier_saisie_ressource(saisie: Mapping, fichier_present: bool) -> dict:
    """Champs d'une ressource contrôlés et normalisés (colonnes de la table) ; :class:`ErreurDonnees` en français
    qui nomme le champ et la correction. Il faut un fichier OU une adresse ``http(s)``, pas les deux."""
    if not isinstance(saisie, Mapping):
        raise ErreurDonnees("Ressource : saisie attendue sous forme de champs (genre, titre…).", "ressource")
    inconnus = sorted(set(saisie) - set(CHAMPS_SAISIE))
    if inconnus:
        raise ErreurDonnees(f"Ressource : champ(s) inconnu(s) {', '.join(map(str, inconnus))} (champs : "
                            f"{', '.join(CHAMPS_SAISIE)}).", "ressource", str(inconnus[0]))
    parametres = lire_parametres_ressources()
    genres, themes_connus = lire_genres_ressource(), lire_themes_ressource()
    genre = saisie.get("genre")
    if genre not in genres:
        raise ErreurDonnees(f"Ressource, champ « genre » : « {neutraliser_controles(genre)[:40]} » inconnu ; "
                            f"choisissez parmi {', '.join(g['libelle'] for g in genres.values())}.", "ressource",
                            "genre")
    valeurs = {"genre": genre,
               "titre": verifier_texte(saisie.get("titre"), "Ressource", "titre", "titre",
                                       parametres["longueur_max_titre"])}
    resume = saisie.get("resume")
    valeurs["resume"] = ("" if resume is None or not str(resume).strip() else
                         verifier_texte(resume, "Ressource", "resume", "résumé", parametres["longueur_max_resume"]))
    url = str(saisie.get("url") or "").strip()
    if url and fichier_present:
        raise ErreurDonnees("Ressource : un fichier OU une adresse, pas les deux ; videz le champ « adresse » ou "
                            "retirez le fichier.", "ressource", "url")
    if not url and not fichier_present:
        raise ErreurDonnees("Ressource : ni fichier ni adresse ; joignez un fichier ou collez l'adresse de la page "
                            "(https://…).", "ressource", "url")
    valeurs["url"] = verifier_url(url) if url else None
    echeance = _echeance(saisie.get("echeance"))
    if genres[genre]["echeance"] and echeance is None:
        raise ErreurDonnees(f"Ressource, champ « échéance » (echeance) : obligatoire pour le genre "
                            f"« {genres[genre]['libelle']} » ; indiquez la date limite de dépôt.", "ressource",
                            "echeance")
    valeurs["echeance"] = echeance
    communes = sorted(set(_liste(saisie.get("communes"))))
    fautives = [c for c in communes if not MOTIF_CODE_INSEE.match(c)]
    if fautives:
        raise ErreurDonnees(f"Ressource, champ « communes » : « {neutraliser_controles(fautives[0])[:20]} » n'est pas "
                            "un code INSEE (5 caractères, ex. 34301).", "ressource", "communes")
    valeurs["communes"] = ",".join(communes)
    themes = sorted(set(_liste(saisie.get("themes"))))
    inconnus = [t for t in themes if t not in themes_connus]
    if inconnus:
        raise ErreurDonnees(f"Ressource, champ « thèmes » : « {neutraliser_controles(inconnus[0])[:40]} » inconnu ; "
                            f"thèmes : {', '.join(themes_connus.values())}.", "ressource", "themes")
    valeurs["themes"] = ",".join(themes)
    valeurs["partagee_territoires"] = bool(saisie.get("partagee_territoires", False))
    return valeurs


def _valeurs_fichier(fichier) -> dict:
    if fichier is None:
        return dict.fromkeys(CHAMPS_FICHIER)
    return {"fichier_nom": fichier.nom, "fichier_chemin": fichier.chemin, "fichier_type": fichier.mime,
            "fichier_taille": fichier.taille, "fichier_sha256": fichier.empreinte}


def _en_dict(ligne) -> dict:
    ressource = dict(ligne._mapping)
    ressource["communes"] = _liste(ressource["communes"])
    ressource["themes"] = _liste(ressource["themes"])
    ressource["partagee_territoires"] = bool(ressource["partagee_territoires"])
    return ressource


class RessourcesMagasin:
    """Méthodes du magasin pour les ressources (mêlées à :class:`donnees.magasin.Magasin`)."""

    # ---------------------------------------------------------------- lectures

    def lire_ressources(self, inclure_masquees: bool = True) -> pd.DataFrame:
        """Toutes les ressources (colonnes de la table ; ``communes`` et ``themes`` en listes), des plus récentes aux
        plus anciennes."""
        r = table_ressource.c
        requete = select(table_ressource).order_by(r.cree_le.desc(), r.id.desc())
        if not inclure_masquees:
            requete = requete.where(r.statut == "publiee")
        with self._lire() as conn:
            table = lire_resultat(conn.execute(requete), COLONNES_RESSOURCE)
        table["communes"] = [_liste(v) for v in table["communes"]]
        table["themes"] = [_liste(v) for v in table["themes"]]
        table["partagee_territoires"] = table["partagee_territoires"].astype(bool)
        return table

    def lire_ressource(self, ressource_id: int) -> dict:
        """Une ressource ; :class:`ErreurDonnees` si elle n'existe pas."""
        with self._lire() as conn:
            return self._ressource(conn, ressource_id)

    def lire_liens_ressources(self, ressource_ids: Iterable[int] | None = None,
                              operation_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Liens ressource ↔ opération (``ressource_id``, ``operation_id``, ``lie_par``, ``lie_le``), filtrés au
        besoin par ressources ou par opérations."""
        lo = table_ressource_operation.c
        requete = select(lo.ressource_id, lo.operation_id, lo.lie_par, lo.lie_le).order_by(lo.ressource_id,
                                                                                           lo.operation_id)
        if ressource_ids is not None:
            requete = requete.where(lo.ressource_id.in_(sorted({int(i) for i in ressource_ids})))
        if operation_ids is not None:
            requete = requete.where(lo.operation_id.in_(sorted({int(i) for i in operation_ids})))
        with self._lire() as conn:
            return lire_resultat(conn.execute(requete), ["ressource_id", "operation_id", "lie_par", "lie_le"])

    def lire_themes_suivis(self, email: str) -> list[str]:
        """Codes des thèmes que ``email`` suit."""
        s = table_suivi_theme.c
        with self._lire() as conn:
            return sorted(conn.execute(select(s.theme).where(s.email == str(email))).scalars())

    def lire_fichier_ressource(self, ressource_id: int, dossier: Path) -> bytes:
        """Contenu du fichier d'une ressource (vérifié par son empreinte) rangé dans ``dossier``."""
        ressource = self.lire_ressource(ressource_id)
        if not ressource["fichier_chemin"]:
            raise ErreurDonnees(f"Ressource n° {ressource_id} : c'est un lien, pas un fichier.", "ressource",
                                "fichier")
        return lire_octets_fichier(ressource["fichier_chemin"], ressource["fichier_sha256"], dossier)

    # ---------------------------------------------------------------- outils de transaction

    @staticmethod
    def _ressource(conn: Connection, ressource_id: Any) -> dict:
        ressource_id = _verifier_identifiant(ressource_id, "ressource_id")
        ligne = conn.execute(select(table_ressource).where(table_ressource.c.id == ressource_id)).first()
        if ligne is None:
            raise ErreurDonnees(f"Ressource n° {ressource_id} introuvable (supprimée ?).", "ressource", "id")
        return _en_dict(ligne)

    @staticmethod
    def _suiveurs(conn: Connection, themes: Iterable[str], sauf: str) -> list[str]:
        """Comptes actifs qui suivent l'un de ``themes`` (sauf ``sauf``, l'auteur)."""
        s, u = table_suivi_theme.c, table_utilisateur.c
        themes = sorted(set(themes))
        if not themes:
            return []
        return sorted(set(conn.execute(select(s.email).join(table_utilisateur, u.email == s.email).where(
            s.theme.in_(themes), u.actif.is_(True), s.email != sauf)).scalars()))

    @staticmethod
    def _fichier_encore_utilise(conn: Connection, chemin: str | None) -> bool:
        r = table_ressource.c
        return chemin is not None and conn.execute(select(r.id).where(r.fichier_chemin == chemin)).first() is not None

    # ---------------------------------------------------------------- écritures

    def creer_ressource(self, saisie: Mapping, auteur_email: str, auteur_nom: str,
                        fichier: tuple[bytes, str] | None = None, dossier: Path | None = None) -> int:
        """Crée une ressource publiée (fichier ``(octets, nom)`` rangé dans ``dossier``, ou adresse ``url``) ;
        notifie les membres qui suivent l'un de ses thèmes (sauf l'auteur) dans la même transaction ; journal
        « création ». Renvoie l'identifiant."""
        auteur_email = _verifier_auteur(auteur_email)
        valeurs = verifier_saisie_ressource(saisie, fichier is not None)
        controle = self._controler_fichier(fichier, dossier)
        nom = str(auteur_nom or "").strip() or auteur_email
        maintenant = _maintenant()
        nouveau = stocker_fichier(controle, dossier) if controle is not None else False
        try:
            with self._ecrire() as conn:
                ressource_id = int(conn.execute(table_ressource.insert().values(
                    **valeurs, **_valeurs_fichier(controle), auteur_email=auteur_email, auteur_nom=nom,
                    statut="publiee", cree_le=maintenant, modifie_le=maintenant, version=1)).inserted_primary_key[0])
                self._notifier_publication(conn, ressource_id, valeurs, auteur_email, nom, maintenant)
                self._inserer_journal(conn, [_ligne_journal(maintenant, auteur_email, "creation", TABLE_JOURNAL,
                                                            ressource_id, {**valeurs, **_valeurs_fichier(controle)})])
        except BaseException:
            if nouveau:
                retirer_fichier(controle.chemin, dossier)
            raise
        return ressource_id

    @staticmethod
    def _controler_fichier(fichier, dossier):
        if fichier is None:
            return None
        if not isinstance(fichier, tuple) or len(fichier) != 2:
            raise ErreurDonnees("Ressource : fichier attendu sous la forme (contenu, nom).", "ressource", "fichier")
        controle = controler_fichier(*fichier)
        if dossier is None:
            raise ErreurDonnees(f"Ressource, fichier « {neutraliser_controles(controle.nom)} » : ce magasin n'a pas de "
                                "dossier de données où ranger les fichiers ; déposez un lien.", "ressource", "fichier")
        return controle

    def _notifier_publication(self, conn: Connection, ressource_id: int, valeurs: dict, auteur_email: str,
                              auteur_nom: str, quand: datetime) -> int:
        themes = _liste(valeurs["themes"])
        libelles = lire_themes_ressource()
        genre = lire_genres_ressource()[valeurs["genre"]]["libelle"]
        texte = (f"Nouvelle ressource ({genre}) de {extraire(auteur_nom, 80)} : « {extraire(valeurs['titre'])} » — "
                 f"thèmes {', '.join(libelles[t] for t in themes)}.")
        return ajouter_notifications(conn, self._suiveurs(conn, themes, auteur_email), "nouvelle_ressource", texte,
                                     lien_ressource(ressource_id), quand)

    def modifier_ressource(self, ressource_id: int, saisie: Mapping, auteur: str, version_attendue: int,
                           fichier: tuple[bytes, str] | None = None, dossier: Path | None = None) -> int:
        """Modifie une ressource (champs de ``saisie`` sur ceux d'avant ; un nouveau fichier remplace le fichier ou
        le lien, une adresse remplace le fichier) ; refus si sa version n'est plus ``version_attendue``. Journal
        « modification » ; renvoie la nouvelle version."""
        auteur = _verifier_auteur(auteur)
        ressource_id = _verifier_identifiant(ressource_id, "ressource_id")
        with self._lire() as conn:
            actuelle = self._ressource(conn, ressource_id)
        fusion = {c: actuelle[c] for c in CHAMPS_SAISIE}
        fusion.update(saisie if isinstance(saisie, Mapping) else {})
        nouvelle_url = str((saisie or {}).get("url") or "").strip() if isinstance(saisie, Mapping) else ""
        garde_fichier = fichier is None and not nouvelle_url and actuelle["fichier_chemin"] is not None
        if fichier is not None or garde_fichier:
            fusion["url"] = None
        valeurs = verifier_saisie_ressource(fusion, fichier is not None or garde_fichier)
        controle = self._controler_fichier(fichier, dossier)
        champs_fichier = ({c: actuelle[c] for c in CHAMPS_FICHIER} if garde_fichier
                          else _valeurs_fichier(controle))
        maintenant = _maintenant()
        nouveau = stocker_fichier(controle, dossier) if controle is not None else False
        try:
            with self._ecrire() as conn:
                version = conn.execute(select(table_ressource.c.version).where(
                    table_ressource.c.id == ressource_id)).scalar()
                if version is None:
                    raise ErreurDonnees(f"Ressource n° {ressource_id} introuvable (supprimée ?).", "ressource", "id")
                if int(version) != int(version_attendue):
                    raise ErreurDonnees(f"La ressource n° {ressource_id} a été modifiée depuis que vous l'avez ouverte "
                                        f"(version {version}, vous aviez la {version_attendue}). Rechargez-la avant "
                                        "d'enregistrer.", "ressource", "version")
                apres = {**valeurs, **champs_fichier}
                diff = {c: [actuelle[c] if c not in ("communes", "themes") else ",".join(actuelle[c]), v]
                        for c, v in apres.items()
                        if (",".join(actuelle[c]) if c in ("communes", "themes") else actuelle[c]) != v}
                conn.execute(update(table_ressource).where(table_ressource.c.id == ressource_id).values(
                    **apres, modifie_le=maintenant, version=int(version) + 1))
                if diff:
                    self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification", TABLE_JOURNAL,
                                                                ressource_id, diff)])
                ancien_inutile = (actuelle["fichier_chemin"] != apres["fichier_chemin"]
                                  and not self._fichier_encore_utilise(conn, actuelle["fichier_chemin"]))
        except BaseException:
            if nouveau:
                retirer_fichier(controle.chemin, dossier)
            raise
        if ancien_inutile and dossier is not None:
            retirer_fichier(actuelle["fichier_chemin"], dossier)
        return int(version) + 1

    def supprimer_ressource(self, ressource_id: int, auteur: str, dossier: Path | None = None) -> None:
        """Supprime une ressource et ses liens aux opérations (journal « suppression ») ; son fichier est retiré de
        ``dossier`` si aucune autre ressource ne le partage."""
        auteur = _verifier_auteur(auteur)
        with self._ecrire() as conn:
            actuelle = self._ressource(conn, ressource_id)
            conn.execute(delete(table_ressource_operation).where(
                table_ressource_operation.c.ressource_id == actuelle["id"]))
            conn.execute(delete(table_ressource).where(table_ressource.c.id == actuelle["id"]))
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "suppression", TABLE_JOURNAL,
                                                        actuelle["id"], {"titre": [actuelle["titre"], None]})])
            inutile = not self._fichier_encore_utilise(conn, actuelle["fichier_chemin"])
        if inutile and dossier is not None and actuelle["fichier_chemin"]:
            retirer_fichier(actuelle["fichier_chemin"], dossier)

    def masquer_ressource(self, ressource_id: int, motif: Any, auteur: str) -> None:
        """Masque une ressource (modération du syndicat) ; motif obligatoire ; journal « modification »."""
        auteur = _verifier_auteur(auteur)
        motif = verifier_texte(motif, "Masquage", "motif_masquage", "motif",
                               lire_parametres_echanges()["longueur_max_motif"])
        self._basculer_statut(ressource_id, "masquee", auteur, motif)

    def restaurer_ressource(self, ressource_id: int, auteur: str) -> None:
        """Republie une ressource masquée ; journal « restauration »."""
        self._basculer_statut(ressource_id, "publiee", _verifier_auteur(auteur), None)

    def _basculer_statut(self, ressource_id: int, statut: str, auteur: str, motif: str | None) -> None:
        maintenant = _maintenant()
        with self._ecrire() as conn:
            actuelle = self._ressource(conn, ressource_id)
            if actuelle["statut"] == statut:
                etat = "déjà masquée" if statut == "masquee" else "n'est pas masquée"
                raise ErreurDonnees(f"Ressource n° {actuelle['id']} : {etat}.", "ressource", "statut")
            masquer = statut == "masquee"
            conn.execute(update(table_ressource).where(table_ressource.c.id == actuelle["id"]).values(
                statut=statut, masque_par=auteur if masquer else None, masque_le=maintenant if masquer else None,
                motif_masquage=motif, version=actuelle["version"] + 1, modifie_le=maintenant))
            diff = {"statut": [actuelle["statut"], statut], "motif_masquage": [actuelle["motif_masquage"], motif]}
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, "modification" if masquer
                                                        else "restauration", TABLE_JOURNAL, actuelle["id"], diff)])

    def lier_ressource(self, ressource_id: int, operation_id: int, auteur: str) -> bool:
        """Lie une ressource à une opération (non supprimée) ; faux si le lien existait déjà."""
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        o = table_operation.c
        with self._ecrire() as conn:
            ressource = self._ressource(conn, ressource_id)
            operation = conn.execute(select(o.id, o.supprimee).where(o.id == operation_id)).first()
            if operation is None or operation.supprimee:
                raise ErreurDonnees(f"Opération n° {operation_id} introuvable (supprimée ?) : pas de lien possible.",
                                    "ressource_operation", "operation_id")
            lo = table_ressource_operation.c
            if conn.execute(select(lo.id).where(lo.ressource_id == ressource["id"],
                                                lo.operation_id == operation_id)).first() is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(table_ressource_operation.insert().values(
                        ressource_id=ressource["id"], operation_id=operation_id, lie_par=auteur,
                        lie_le=_maintenant()))
            except IntegrityError:  # lié au même instant par une autre transaction
                return False
            self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", TABLE_JOURNAL,
                                                        ressource["id"], {"operations": [None, operation_id]})])
        return True

    def delier_ressource(self, ressource_id: int, operation_id: int, auteur: str) -> bool:
        """Retire le lien d'une ressource à une opération ; faux s'il n'existait pas."""
        auteur = _verifier_auteur(auteur)
        ressource_id = _verifier_identifiant(ressource_id, "ressource_id")
        operation_id = _verifier_identifiant(operation_id)
        lo = table_ressource_operation.c
        with self._ecrire() as conn:
            retire = conn.execute(delete(table_ressource_operation).where(
                lo.ressource_id == ressource_id, lo.operation_id == operation_id)).rowcount > 0
            if retire:
                self._inserer_journal(conn, [_ligne_journal(_maintenant(), auteur, "modification", TABLE_JOURNAL,
                                                            ressource_id, {"operations": [operation_id, None]})])
        return retire

    def suivre_theme(self, email: str, theme: str) -> bool:
        """``email`` suit le thème (notifié de chaque nouvelle ressource du thème) ; faux s'il le suivait déjà."""
        email = _verifier_auteur(email)
        if theme not in lire_themes_ressource():
            raise ErreurDonnees(f"Thème « {neutraliser_controles(theme)[:40]} » inconnu ; thèmes : "
                                f"{', '.join(lire_themes_ressource().values())}.", "suivi_theme", "theme")
        s = table_suivi_theme.c
        with self._ecrire() as conn:
            if conn.execute(select(s.id).where(s.email == email, s.theme == theme)).first() is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(table_suivi_theme.insert().values(email=email, theme=theme, cree_le=_maintenant()))
            except IntegrityError:
                return False
        return True

    def ne_plus_suivre_theme(self, email: str, theme: str) -> bool:
        """``email`` ne suit plus le thème ; faux s'il ne le suivait pas."""
        email = _verifier_auteur(email)
        s = table_suivi_theme.c
        with self._ecrire() as conn:
            return conn.execute(delete(table_suivi_theme).where(s.email == email, s.theme == str(theme))).rowcount > 0


__all__ = ["LIEN_PAGE", "RessourcesMagasin", "lien_ressource", "verifier_saisie_ressource"]
