"""Agenda de la communauté (issue 16, partie 3) vérifié dans la couche de données : heures de Paris et UTC
(changements d'heure compris), matrice des droits (public, financeur, référent de la commune, référent d'une autre
commune, syndicat), inscriptions refusées (complet, annulé, passé), notifications et rappel unique, iCalendar relu
par un analyseur (texte hostile aller-retour exact, lignes de 75 octets au plus), flux et CLI, partage entre
territoires."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select
from test_droits import EMAILS, NOMS, A, B, operation

import cli
from donnees.agenda import (
    decrire_horaire,
    lire_genres_evenement,
    lire_parametres_agenda,
    paris_vers_utc,
    utc_vers_paris,
)
from donnees.comptes import VISITEUR, lire_compte
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import vers_lambert93
from donnees.instance import TerritoireInstance
from donnees.magasin import Magasin
from donnees.magasin.notifications import lire_genres_notification
from donnees.magasin.tables import table_evenement, table_inscription_evenement, table_notification
from services import agenda as service_agenda
from vues.icalendar import construire_calendrier, plier_ligne

ROLES = ["visiteur", "financeur", "referent_A", "referent_B", "administrateur"]
CONNECTES = set(ROLES) - {"visiteur"}
HOSTILE = ("<script>alert('x')</script>; virgule, point-virgule; \\ barre\nligne 2\r\nligne 3 🌊🌳 "
           + "é" * 100 + "à" * 100)
FUTUR = datetime(2030, 6, 12, 7, 30)  # 9 h 30 à Paris (heure d'été)


def saisie(**autres) -> dict:
    """Événement valide : atelier à Sète, dans le futur, deux heures."""
    valeurs = {"genre": "atelier", "titre": "Atelier cours d'école", "sujet": "Débitumer une cour",
               "debut": FUTUR, "fin": FUTUR + timedelta(hours=2), "lieu": "Salle des fêtes, Sète",
               "longitude": 3.69, "latitude": 43.40}
    valeurs.update(autres)
    return valeurs


@pytest.fixture
def ops(magasin):
    """Comptes des quatre rôles ; une opération validée et une non validée à Sète (A), une validée à Mèze (B)."""
    if magasin.est_postgresql:  # tables de la communauté hors de la liste vidée par conftest
        with magasin.moteur.begin() as conn:
            conn.exec_driver_sql("TRUNCATE notification, inscription_evenement, evenement_operation, evenement "
                                 "RESTART IDENTITY CASCADE")
    magasin.creer_utilisateur(EMAILS["administrateur"], "Alice Admin", "administrateur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["financeur"], "Farid Financeur", "financeur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_A"], "Camille Sète", "referent", [A], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_B"], "Dominique Mèze", "referent", [B], None, auteur="test")
    return {"a_val": magasin.creer_operation(operation(A, "validee"), "test"),
            "a_nv": magasin.creer_operation(operation(A), "test"),
            "b_val": magasin.creer_operation(operation(B, "validee"), "test")}


def protege(magasin, role: str) -> MagasinProtege:
    utilisateur = VISITEUR if role == "visiteur" else lire_compte(magasin, EMAILS[role])
    return MagasinProtege(magasin, utilisateur, noms_communes=NOMS)


def etat(magasin) -> tuple:
    """Lignes des tables de l'agenda et des notifications, séquences, statuts, journal."""
    with magasin.moteur.connect() as conn:
        comptes = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                        for t in (table_evenement, table_inscription_evenement, table_notification))
        sequences = sorted(conn.execute(select(table_evenement.c.id, table_evenement.c.sequence,
                                               table_evenement.c.statut)).all())
    return comptes, sequences, len(magasin.lire_journal())


# ------------------------------------------------------------------------------------------ heures


def test_heure_de_paris_et_utc_hiver_ete_et_changements_d_heure():
    assert paris_vers_utc(date(2027, 1, 15), time(14, 30)) == datetime(2027, 1, 15, 13, 30)  # UTC+1
    assert paris_vers_utc(date(2027, 7, 15), time(14, 30)) == datetime(2027, 7, 15, 12, 30)  # UTC+2
    # 28 mars 2027 : de 2 h à 3 h, l'heure n'existe pas
    with pytest.raises(ErreurDonnees, match="n'existe pas le 28/03/2027"):
        paris_vers_utc(date(2027, 3, 28), time(2, 30))
    assert paris_vers_utc(date(2027, 3, 28), time(3, 0)) == datetime(2027, 3, 28, 1, 0)
    # 31 octobre 2027 : 2 h 30 existe deux fois ; première occurrence (heure d'été)
    assert paris_vers_utc(date(2027, 10, 31), time(2, 30)) == datetime(2027, 10, 31, 0, 30)
    # une durée qui traverse le passage à l'heure d'été : 1 h 30 + 2 h réelles = 4 h 30 à Paris
    debut, fin = service_agenda.preparer_horaire(date(2027, 3, 28), time(1, 30), 120)
    assert (debut, fin) == (datetime(2027, 3, 28, 0, 30), datetime(2027, 3, 28, 2, 30))
    assert f"{utc_vers_paris(fin):%H:%M}" == "04:30"
    assert decrire_horaire(debut, fin) == "le 28/03/2027 de 01:30 à 04:30"
    assert decrire_horaire(datetime(2027, 10, 30, 22), datetime(2027, 10, 31, 8)) == \
        "le 31/10/2027 de 00:00 à 09:00"  # 0 h en heure d'été (UTC+2), 9 h en heure d'hiver (UTC+1)


def test_parametres_et_genres_declares_et_notification_reservee():
    parametres = lire_parametres_agenda()
    assert all(parametres["justification"][c] for c in parametres if c != "justification")
    assert {"atelier", "visite_site", "reunion", "webinaire"} <= set(lire_genres_evenement())
    assert "evenement_a_venir" in lire_genres_notification()


# ------------------------------------------------------------------------------------------ saisie

@pytest.mark.parametrize("fautive, champ", [
    ({"titre": "   "}, "titre"),
    ({"genre": "pique-nique"}, "genre"),
    ({"fin": FUTUR - timedelta(minutes=1)}, "fin"),
    ({"fin": FUTUR + timedelta(days=40)}, "fin"),
    ({"lieu": None}, "lieu"),
    ({"en_ligne": True, "url": "javascript:alert(1)"}, "url"),
    ({"en_ligne": True, "url": None}, "url"),
    ({"places_max": 0}, "places_max"),
    ({"places_max": 2.5}, "places_max"),
    ({"latitude": None}, "latitude"),
    ({"longitude": 500.0}, "longitude"),
    ({"titre": "x" * 151}, "titre"),
    ({"titre": "nul\x00"}, "titre"),
    ({"uid": "pirate"}, "uid"),
])
def test_saisie_fautive_refusee_en_francais_sans_rien_ecrire(magasin, ops, fautive, champ):
    avant = etat(magasin)
    with pytest.raises(ErreurDonnees) as erreur:
        protege(magasin, "administrateur").creer_evenement(saisie(**fautive))
    assert erreur.value.colonne == champ and "Événement" in str(erreur.value), str(erreur.value)
    assert etat(magasin) == avant


@pytest.mark.parametrize("liens", [{"operation": "12"}, {"operation": ["douze"]}, {"operation": [True]},
                                   {"ressource": [1]}, ["operation"]])
def test_liens_fautifs_refuses_sans_rien_ecrire(magasin, ops, liens):
    avant = etat(magasin)
    with pytest.raises(ErreurDonnees):
        protege(magasin, "administrateur").creer_evenement(saisie(), liens)
    assert etat(magasin) == avant


def test_point_hors_du_territoire_refuse(magasin, ops):
    facade = protege(magasin, "administrateur")
    facade._contours = {A: vers_lambert93(shapely.box(3.6, 43.35, 3.75, 43.45))}
    with pytest.raises(ErreurDonnees, match="hors du territoire"):
        facade.creer_evenement(saisie(longitude=2.35, latitude=48.85))
    assert facade.creer_evenement(saisie()) > 0
    assert facade.creer_evenement(saisie(longitude=None, latitude=None, en_ligne=True,
                                         url="https://visio.exemple.fr/abc")) > 0


# ------------------------------------------------------------------------------------------ matrice des droits

ADMIN_ET_AUTEUR = {"referent_A", "administrateur"}
MATRICE = {
    "lire_agenda": (lambda p, o: p.lire_agenda(), set(ROLES)),
    "lire_evenement": (lambda p, o: p.lire_evenement(o["du_syndicat"]), set(ROLES)),
    "s_inscrire": (lambda p, o: p.s_inscrire(o["du_syndicat"]), CONNECTES),
    "se_desinscrire": (lambda p, o: p.se_desinscrire(o["du_syndicat"]), CONNECTES),
    "proposer": (lambda p, o: p.creer_evenement(saisie()), {"referent_A", "referent_B", "administrateur"}),
    "proposer_avec_operation_validee": (lambda p, o: p.creer_evenement(saisie(), {"operation": [o["b_val"]]}),
                                        {"referent_A", "referent_B", "administrateur"}),
    "proposer_avec_operation_non_validee_de_A": (
        lambda p, o: p.creer_evenement(saisie(), {"operation": [o["a_nv"]]}), ADMIN_ET_AUTEUR),
    "modifier_celui_du_syndicat": (lambda p, o: p.modifier_evenement(o["du_syndicat"], {"titre": "Nouveau"}),
                                   {"administrateur"}),
    "modifier_celui_du_referent_A": (lambda p, o: p.modifier_evenement(o["du_referent"], {"titre": "Nouveau"}),
                                     ADMIN_ET_AUTEUR),
    "annuler_celui_du_syndicat": (lambda p, o: p.annuler_evenement(o["du_syndicat"], "Salle indisponible"),
                                  {"administrateur"}),
    "annuler_celui_du_referent_A": (lambda p, o: p.annuler_evenement(o["du_referent"], "Intempéries"),
                                    ADMIN_ET_AUTEUR),
    "lire_inscrits_celui_du_syndicat": (lambda p, o: p.lire_inscrits(o["du_syndicat"]), {"administrateur"}),
    "lire_inscrits_celui_du_referent_A": (lambda p, o: p.lire_inscrits(o["du_referent"]), ADMIN_ET_AUTEUR),
    "evenements_d_une_operation_non_validee": (lambda p, o: p.lire_evenements_operation(o["a_nv"]),
                                              {"financeur", "referent_A", "administrateur"}),
}


@pytest.mark.parametrize("action", list(MATRICE))
def test_matrice_des_droits_de_l_agenda(magasin, ops, action):
    """Chaque rôle non autorisé est refusé en français sans rien écrire ; chaque rôle autorisé réussit."""
    fonction, autorises = MATRICE[action]
    ops["du_syndicat"] = magasin.creer_evenement(saisie(), EMAILS["administrateur"])
    ops["du_referent"] = magasin.creer_evenement(saisie(titre="Visite"), EMAILS["referent_A"])
    for role in ROLES:
        if action == "se_desinscrire" and role != "visiteur":
            magasin.inscrire_evenement(ops["du_syndicat"], EMAILS[role], role)
        avant = etat(magasin)
        if role in autorises:
            fonction(protege(magasin, role), ops)
            if action.startswith("annuler"):  # rétablir pour le rôle suivant
                cle = "du_syndicat" if "syndicat" in action else "du_referent"
                ops[cle] = magasin.creer_evenement(saisie(), EMAILS["administrateur" if cle == "du_syndicat"
                                                                    else "referent_A"])
        else:
            with pytest.raises(ErreurDroits) as refus:
                fonction(protege(magasin, role), ops)
            message = str(refus.value)
            assert ("Vous ne pouvez pas" in message or "Votre rôle" in message or "Connectez-vous" in message), \
                message
            assert etat(magasin) == avant, (action, role)


def test_le_public_ne_voit_ni_les_inscrits_ni_les_adresses(magasin, ops):
    ident = magasin.creer_evenement(saisie(), EMAILS["referent_A"], {"operation": [ops["a_val"], ops["a_nv"]]})
    magasin.inscrire_evenement(ident, EMAILS["referent_B"], "Dominique Mèze")
    public = protege(magasin, "visiteur")
    table = public.lire_agenda()
    assert table["nombre_inscrits"].tolist() == [1]
    assert not {"cree_par", "cree_le"} & set(table.columns)
    assert not any(e in table.astype(str).to_string() for e in EMAILS.values())
    fiche = public.lire_evenement(ident)
    assert "cree_par" not in fiche and fiche["inscrit"] is False
    assert [o["id"] for o in fiche["operations"]] == [ops["a_val"]]  # l'opération non validée reste cachée
    assert [o["id"] for o in protege(magasin, "referent_A").lire_evenement(ident)["operations"]] == \
        [ops["a_val"], ops["a_nv"]]
    assert protege(magasin, "referent_B").lire_evenement(ident)["inscrit"] is True
    assert protege(magasin, "administrateur").lire_inscrits(ident)["email"].tolist() == [EMAILS["referent_B"]]


# ------------------------------------------------------------------------------------------ inscriptions

def test_inscription_refusee_complet_annule_passe_et_une_seule_par_membre(magasin, ops):
    complet = magasin.creer_evenement(saisie(places_max=1), EMAILS["administrateur"])
    assert protege(magasin, "referent_A").s_inscrire(complet) is True
    assert protege(magasin, "referent_A").s_inscrire(complet) is False  # déjà inscrit : rien de plus
    with pytest.raises(ErreurDonnees, match="complet \\(1 places, toutes prises\\)"):
        protege(magasin, "referent_B").s_inscrire(complet)
    assert protege(magasin, "referent_A").se_desinscrire(complet) is True
    assert protege(magasin, "referent_B").s_inscrire(complet) is True  # la place libérée sert
    annule = magasin.creer_evenement(saisie(), EMAILS["administrateur"])
    magasin.annuler_evenement(annule, "Salle inondée", EMAILS["administrateur"])
    with pytest.raises(ErreurDonnees, match="est annulé"):
        protege(magasin, "financeur").s_inscrire(annule)
    passe = magasin.creer_evenement(saisie(debut=datetime(2020, 1, 1, 9), fin=datetime(2020, 1, 1, 11)),
                                    EMAILS["administrateur"])
    with pytest.raises(ErreurDonnees, match="déjà commencé ou est passé"):
        protege(magasin, "financeur").s_inscrire(passe)
    with pytest.raises(ErreurDonnees, match="déjà annulé"):
        protege(magasin, "administrateur").annuler_evenement(annule, "Encore")
    with pytest.raises(ErreurDonnees, match="ne se modifie plus"):
        protege(magasin, "administrateur").modifier_evenement(annule, {"titre": "Autre"})
    assert magasin.lire_inscriptions(complet)["email"].tolist() == [EMAILS["referent_B"]]


def test_inscriptions_simultanees_ne_depassent_pas_les_places(magasin, ops):
    from concurrent.futures import ThreadPoolExecutor

    ident = magasin.creer_evenement(saisie(places_max=3), EMAILS["administrateur"])

    def inscrire(rang: int) -> str:
        try:
            return "inscrit" if magasin.inscrire_evenement(ident, f"membre{rang}@exemple.fr", f"M {rang}") else "deja"
        except ErreurDonnees as erreur:
            return "complet" if "complet" in str(erreur) else str(erreur)

    with ThreadPoolExecutor(max_workers=8) as groupe:
        resultats = list(groupe.map(inscrire, range(8)))
    assert sorted(resultats) == ["complet"] * 5 + ["inscrit"] * 3, resultats
    assert len(magasin.lire_inscriptions(ident)) == 3


# ------------------------------------------------------------------------------------------ notifications

def genres_de(magasin, role: str) -> list[str]:
    return magasin.lire_notifications(EMAILS[role])["texte"].tolist()


def test_notifications_creation_horaire_annulation_et_rappel_unique(magasin, ops):
    magasin.creer_utilisateur("ancien@sete.fr", "Ancien", "referent", [A], None, actif=False, auteur="test")
    ident = protege(magasin, "referent_A").creer_evenement(saisie(titre=HOSTILE[:140]))
    for role in ("administrateur", "financeur", "referent_B"):
        textes = genres_de(magasin, role)
        assert len(textes) == 1 and textes[0].startswith("Nouvel événement à l'agenda : Atelier «"), role
        assert "\n" not in textes[0] and "<script>" in textes[0]  # texte brut sur une ligne (affiché en texte)
    assert genres_de(magasin, "referent_A") == [] and magasin.lire_notifications("ancien@sete.fr").empty
    assert magasin.lire_notifications(EMAILS["financeur"])["lien"].tolist() == [f"/agenda?id={ident}"]
    for role in ("financeur", "referent_B"):
        protege(magasin, role).s_inscrire(ident)
    # modification sans changement d'horaire : séquence + 1, aucune notification
    assert protege(magasin, "referent_A").modifier_evenement(ident, {"sujet": "Programme précisé"}) == 1
    assert protege(magasin, "referent_A").modifier_evenement(ident, {"sujet": "Programme précisé"}) == 1  # rien
    assert len(genres_de(magasin, "financeur")) == 1
    # changement d'horaire : les inscrits seulement
    protege(magasin, "administrateur").modifier_evenement(
        ident, {"debut": FUTUR + timedelta(hours=1), "fin": FUTUR + timedelta(hours=3)})
    assert genres_de(magasin, "financeur")[0] == (
        "Horaire changé : Atelier « " + " ".join(HOSTILE[:140].split())[:119] + "… » le 12/06/2030 de 10:30 à "
        "12:30 (auparavant le 12/06/2030 de 09:30 à 11:30).")
    assert len(genres_de(magasin, "administrateur")) == 1  # pas inscrit, l'auteur du changement de toute façon
    # rappel J-2 : une fois par inscription, même en repassant
    avant_fenetre = FUTUR - timedelta(days=3)
    assert magasin.generer_rappels_agenda(avant_fenetre) == 0
    dans_fenetre = FUTUR - timedelta(days=1)
    assert magasin.generer_rappels_agenda(dans_fenetre) == 2
    assert magasin.generer_rappels_agenda(dans_fenetre) == 0
    assert magasin.generer_rappels_agenda(dans_fenetre + timedelta(hours=20)) == 0
    assert genres_de(magasin, "financeur")[0].startswith("Rappel : vous êtes inscrit à Atelier")
    assert sum(t.startswith("Rappel") for t in genres_de(magasin, "referent_B")) == 1
    # avancé d'une heure après le rappel : pas de second rappel ; reporté d'une semaine : rappelé de nouveau, une fois
    protege(magasin, "administrateur").modifier_evenement(ident, {"debut": FUTUR, "fin": FUTUR + timedelta(hours=3)})
    assert magasin.generer_rappels_agenda(dans_fenetre) == 0
    reporte = FUTUR + timedelta(days=7)
    protege(magasin, "administrateur").modifier_evenement(ident, {"debut": reporte,
                                                                  "fin": reporte + timedelta(hours=2)})
    assert magasin.generer_rappels_agenda(dans_fenetre) == 0  # hors de la fenêtre de la nouvelle date
    assert magasin.generer_rappels_agenda(reporte - timedelta(days=1)) == 2
    assert magasin.generer_rappels_agenda(reporte - timedelta(days=1)) == 0
    assert sum(t.startswith("Rappel") for t in genres_de(magasin, "referent_B")) == 2
    # annulation : les inscrits, motif en extrait
    protege(magasin, "administrateur").annuler_evenement(ident, "Alerte orange\norages")
    annulations = [t for t in genres_de(magasin, "referent_B") if t.startswith("Annulé : Atelier")]
    assert len(annulations) == 1 and annulations[0].endswith("Motif : Alerte orange orages")
    assert set(magasin.lire_notifications(EMAILS["referent_B"])["genre"]) == {"evenement_a_venir"}


def test_rappel_genere_par_l_envoi_des_resumes_avant_les_courriels(dossier_demo_copie):
    from serveur_smtp import ServeurSmtp

    from donnees.config import url_base
    from services.courriels import envoyer_resumes_territoire

    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    magasin.creer_utilisateur("inscrit.rappel@sete.fr", "Inscrit Rappel", "referent", [A], None, auteur="test")
    demain = datetime.now().replace(microsecond=0) + timedelta(days=1)
    ident = magasin.creer_evenement(saisie(titre="Visite <b>chantier</b> & <script>x</script>", debut=demain,
                                           fin=demain + timedelta(hours=2)), "admin@bassin.fr")
    magasin.inscrire_evenement(ident, "inscrit.rappel@sete.fr", "Inscrit Rappel")
    magasin.marquer_notifications_lues("inscrit.rappel@sete.fr")
    magasin.ecrire_preference_courriel("inscrit.rappel@sete.fr", "quotidienne", "inscrit.rappel@sete.fr")
    with ServeurSmtp() as serveur:
        premier = envoyer_resumes_territoire(dossier_demo_copie, serveur.environnement())
        second = envoyer_resumes_territoire(dossier_demo_copie, serveur.environnement())
    assert premier.rappels_agenda >= 1 and second.rappels_agenda == 0
    assert ("inscrit.rappel@sete.fr", 1) in premier.envoyes
    recus = [r for _, d, r in serveur.boite.recus if d == ["inscrit.rappel@sete.fr"]]
    assert len(recus) == 1 and "Rappel : vous êtes inscrit" in recus[0].get_body(("plain",)).get_content()
    html = recus[0].get_body(("html",)).get_content()  # titre hostile : échappé dans le courriel HTML
    assert "&lt;b&gt;chantier&lt;/b&gt;" in html and "<script>" not in html and "<b>chantier" not in html
    assert f"/agenda?id={ident}" in recus[0].get_body(("plain",)).get_content()
    magasin.fermer()


# ------------------------------------------------------------------------------------------ iCalendar

def relire_ics(texte: str) -> list[dict]:
    """Petit analyseur RFC 5545 : déplie les lignes, sépare nom et valeur, déséchappe les TEXT ; renvoie les
    composants (VCALENDAR puis chaque VEVENT) en dictionnaires nom → valeur."""
    assert texte.endswith("\r\n") and "\n" not in texte.replace("\r\n", "")
    lignes = texte.split("\r\n")[:-1]
    logiques: list[str] = []
    for ligne in lignes:
        if ligne.startswith(" "):
            logiques[-1] += ligne[1:]
        else:
            logiques.append(ligne)
    composants, pile = [], []
    for ligne in logiques:
        nom, _, valeur = ligne.partition(":")
        if nom == "BEGIN":
            pile.append({"_type": valeur})
        elif nom == "END":
            assert pile[-1]["_type"] == valeur
            composants.append(pile.pop())
        else:
            sortie, i = [], 0
            while i < len(valeur):
                if valeur[i] == "\\":
                    suivant = valeur[i + 1]
                    sortie.append("\n" if suivant in "nN" else suivant)
                    i += 2
                else:
                    assert valeur[i] not in ";," or nom in ("GEO", "PRODID"), (nom, valeur)
                    sortie.append(valeur[i])
                    i += 1
            pile[-1][nom] = "".join(sortie)
    assert not pile and composants[-1]["_type"] == "VCALENDAR"
    return [composants[-1]] + composants[:-1]


def test_ics_texte_hostile_aller_retour_exact_et_lignes_de_75_octets(magasin, ops):
    ident = magasin.creer_evenement(saisie(titre=HOSTILE[:150], sujet=HOSTILE, lieu=HOSTILE[:300],
                                           places_max=30), EMAILS["administrateur"],
                                    {"operation": [ops["a_val"]]})
    nom, contenu = service_agenda.construire_ics_evenement(protege(magasin, "referent_B"), ident, "Bassin de Thau",
                                                           datetime(2030, 1, 1, 8))
    assert nom.startswith(f"evenement-{ident}-") and nom.endswith(".ics")
    texte = contenu.decode("utf-8")
    for ligne in contenu.split(b"\r\n"):
        assert len(ligne) <= 75
        ligne.decode("utf-8")  # aucun caractère multioctet coupé
    calendrier, vevent = relire_ics(texte)
    assert calendrier["VERSION"] == "2.0" and calendrier["METHOD"] == "PUBLISH"
    assert calendrier["PRODID"].startswith("-//Désimper") and calendrier["X-WR-CALNAME"].startswith("Bassin de Thau")
    fiche = magasin.lire_evenement(ident)
    assert vevent["SUMMARY"] == fiche["titre"] and "\r" not in fiche["titre"]
    assert vevent["LOCATION"] == fiche["lieu"]
    assert fiche["sujet"] in vevent["DESCRIPTION"] and "ligne 2\nligne 3 🌊🌳" in vevent["DESCRIPTION"]
    assert f"- n° {ops['a_val']} Cour d'école" in vevent["DESCRIPTION"]
    assert vevent["UID"] == fiche["uid"] and vevent["SEQUENCE"] == "0" and vevent["STATUS"] == "CONFIRMED"
    assert vevent["DTSTART"] == "20300612T073000Z" and vevent["DTEND"] == "20300612T093000Z"
    assert vevent["DTSTAMP"] == "20300101T080000Z" and vevent["GEO"] == "43.400000;3.690000"
    # modification puis annulation : même UID, séquence croissante, STATUS:CANCELLED
    magasin.modifier_evenement(ident, {"titre": "Atelier, version 2"}, EMAILS["administrateur"])
    magasin.annuler_evenement(ident, "Tempête", EMAILS["administrateur"])
    _, annule = relire_ics(service_agenda.construire_ics_evenement(protege(magasin, "visiteur"), ident)[1]
                           .decode("utf-8"))
    assert annule["UID"] == fiche["uid"] and annule["SEQUENCE"] == "2" and annule["STATUS"] == "CANCELLED"
    assert annule["SUMMARY"] == "ANNULÉ : Atelier, version 2" and "Annulé : Tempête" in annule["DESCRIPTION"]
    assert "Cour d'école" in annule["DESCRIPTION"]  # opération validée : lisible par le public aussi


def test_pliage_ne_coupe_jamais_un_caractere_multioctet():
    for prefixe in range(0, 8):
        ligne = "DESCRIPTION:" + "a" * prefixe + "🌊é€" * 40
        plie = plier_ligne(ligne).encode("utf-8")
        morceaux = plie.split(b"\r\n")[:-1]
        assert all(len(m) <= 75 for m in morceaux) and all(m.startswith(b" ") for m in morceaux[1:])
        assert b"".join([morceaux[0]] + [m[1:] for m in morceaux[1:]]).decode("utf-8") == ligne


def test_calendrier_vide_valide():
    calendrier, = relire_ics(construire_calendrier([], "Agenda, vide ; test", datetime(2030, 1, 1)))
    assert calendrier["X-WR-CALNAME"] == "Agenda, vide ; test"


# ------------------------------------------------------------------------------------------ flux, CLI, partage

def _territoire(tmp_path: Path, code: str, nom: str) -> TerritoireInstance:
    dossier = tmp_path / code
    dossier.mkdir()
    territoire = TerritoireInstance(code, nom, dossier)
    magasin = Magasin(territoire.url)
    magasin.creer_tables()
    magasin.fermer()
    return territoire


def test_partage_entre_territoires_en_lecture_seule(tmp_path, monkeypatch):
    thau = _territoire(tmp_path, "thau", "Bassin de Thau")
    lez = _territoire(tmp_path, "lez", "Bassin du Lez")
    monkeypatch.setattr(service_agenda, "lister_territoires", lambda: [thau, lez])
    autre = Magasin(lez.url)
    partage = autre.creer_evenement(saisie(titre="Webinaire partagé", partage_territoires=True, en_ligne=True,
                                           url="https://visio.exemple.fr/lez", lieu=None, longitude=None,
                                           latitude=None), "admin@lez.fr")
    autre.creer_evenement(saisie(titre="Réunion interne du Lez"), "admin@lez.fr")
    autre.inscrire_evenement(partage, "membre@lez.fr", "Membre du Lez")
    autre.fermer()
    local = Magasin(thau.url)
    local.creer_evenement(saisie(titre="Atelier de Thau", debut=FUTUR - timedelta(days=1),
                                 fin=FUTUR - timedelta(days=1) + timedelta(hours=2)), "admin@thau.fr")
    facade = MagasinProtege(local, VISITEUR)
    agenda = service_agenda.lire_agenda(facade, dossier=thau.dossier)
    assert agenda.evenements["titre"].tolist() == ["Atelier de Thau", "Webinaire partagé"]
    assert agenda.evenements["territoire"].tolist()[1] == "Bassin du Lez" and agenda.avertissements == []
    assert agenda.evenements["nombre_inscrits"].tolist() == [0, 1]
    assert "cree_par" not in agenda.evenements.columns or agenda.evenements["cree_par"].isna().all()
    # l'identifiant partagé n'existe pas dans la base locale : lecture seule, aucune écriture possible ici
    texte, nombre = service_agenda.construire_flux(thau.dossier, "Bassin de Thau", FUTUR - timedelta(days=10))
    assert nombre == 2 and "Réunion interne" not in texte
    evenements = relire_ics(texte)[1:]
    assert [e["SUMMARY"] for e in evenements] == ["Atelier de Thau", "Webinaire partagé"]
    assert "territoire Bassin du Lez" in evenements[1]["DESCRIPTION"]
    local.fermer()
    # une base d'un autre territoire illisible : avertissement, pas de panne
    casse = TerritoireInstance("casse", "Territoire cassé", tmp_path / "absent", "sqlite:////nulle/part/x.sqlite")
    monkeypatch.setattr(service_agenda, "lister_territoires", lambda: [thau, casse])
    local = Magasin(thau.url)
    agenda = service_agenda.lire_agenda(MagasinProtege(local, VISITEUR), dossier=thau.dossier)
    local.fermer()
    assert agenda.evenements["titre"].tolist() == ["Atelier de Thau"]
    assert agenda.avertissements and "Territoire cassé" in agenda.avertissements[0]


def test_cli_agenda_exporter_ecrit_le_flux_d_un_coup(dossier_demo_copie, tmp_path, capsys):
    from donnees.config import url_base

    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    avant = len(magasin.lire_evenements())
    demain = datetime.now().replace(microsecond=0) + timedelta(days=3)
    magasin.creer_evenement(saisie(titre="Atelier, CLI; test", debut=demain, fin=demain + timedelta(hours=1)),
                            "admin@bassin.fr")
    magasin.fermer()
    sortie = tmp_path / "public" / "agenda.ics"
    assert cli.main(["agenda", "exporter", "--dossier", str(dossier_demo_copie), "--sortie", str(sortie)]) == 0
    assert "Flux de l'agenda écrit" in capsys.readouterr().out
    evenements = relire_ics(sortie.read_bytes().decode("utf-8"))[1:]
    assert "Atelier, CLI; test" in [e["SUMMARY"] for e in evenements]
    assert len(evenements) <= avant + 1 and not list(sortie.parent.glob(".*.tmp"))
    assert oct(sortie.stat().st_mode & 0o777) == "0o644"
    # dossier de sortie en lecture seule : message français, ancien fichier intact
    contenu = sortie.read_bytes()
    sortie.parent.chmod(0o500)
    try:
        code = cli.main(["agenda", "exporter", "--dossier", str(dossier_demo_copie), "--sortie", str(sortie)])
    finally:
        sortie.parent.chmod(0o700)
    import os
    if os.geteuid() != 0:  # root écrit partout
        assert code != 0
    assert sortie.read_bytes().startswith(contenu[:15])


def test_evenements_demo_realistes(dossier_demo):
    from donnees.config import url_base

    magasin = Magasin(url_base(dossier_demo))
    try:
        evenements = magasin.lire_evenements()
        assert len(evenements) >= 3 and set(evenements["genre"]) >= {"atelier", "visite_site", "reunion"}
        assert (pd.to_datetime(evenements["fin"]) < datetime.now()).any()  # un passé
        assert evenements["nombre_inscrits"].sum() >= 2
        liens = magasin.lire_liens_evenements(evenements["id"])
        assert any(liens["operation"].values())
        atelier = int(evenements[evenements["genre"].eq("atelier")]["id"].iloc[0])
        titres = magasin.lire_ressources().set_index("id")["titre"]
        assert any("Cours Oasis" in titres[i] for i in liens["ressource"][atelier])  # supports de l'atelier
    finally:
        magasin.fermer()


def test_nginx_sert_le_flux_de_l_agenda(tmp_path):
    from services.deploiement import PlanDeploiement, generer_configuration_nginx, trouver_nginx

    flux = tmp_path / "public" / "agenda.ics"
    sans = generer_configuration_nginx(PlanDeploiement(2, premier_port=9001), complete=False)
    assert "agenda.ics" not in sans
    plan = PlanDeploiement(2, premier_port=9001, dossier_execution=tmp_path / "nginx", flux_agenda=flux)
    texte = generer_configuration_nginx(plan, complete=True)
    assert "location = /agenda.ics {" in texte and f'alias "{flux.resolve()}";' in texte
    assert "default_type text/calendar;" in texte
    with pytest.raises(ErreurDonnees, match="sans espace"):
        generer_configuration_nginx(PlanDeploiement(2, flux_agenda=tmp_path / "mon agenda.ics"), complete=False)
    nginx = trouver_nginx()
    if nginx is None:
        pytest.skip("nginx absent : la syntaxe de la configuration n'est pas vérifiée")
    import subprocess

    for dossier in ("temp/corps", "temp/mandataire", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (tmp_path / "nginx" / dossier).mkdir(parents=True, exist_ok=True)
    configuration = tmp_path / "nginx" / "nginx.conf"
    configuration.write_text(texte, encoding="utf-8")
    resultat = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path / "nginx"), "-c", str(configuration)],
                              capture_output=True, text=True, check=False)
    assert resultat.returncode == 0, resultat.stderr


def test_ressources_liees_lisibles_seulement_et_dans_le_ics(magasin, ops):
    """Lien événement ↔ ressources : une ressource publiée se lie et apparaît dans la fiche et le .ics ; une ressource
    masquée ne se lie que par son auteur ou le syndicat et n'apparaît pas au public ; ressource inconnue refusée sans
    rien écrire ; supprimer la ressource retire le lien."""
    publiee = magasin.creer_ressource({"genre": "guide", "titre": "Guide <des> cours, « oasis »",
                                       "url": "https://exemple.fr/guide", "themes": ["cours_ecole"],
                                       "communes": [A]}, EMAILS["referent_A"], "Camille Sète")
    masquee = magasin.creer_ressource({"genre": "etude", "titre": "Étude interne", "url": "https://exemple.fr/e",
                                       "themes": ["cours_ecole"], "communes": [A]}, EMAILS["referent_A"],
                                      "Camille Sète")
    magasin.masquer_ressource(masquee, "Doublon", EMAILS["administrateur"])
    referent_b = protege(magasin, "referent_B")
    avant = etat(magasin)
    with pytest.raises(ErreurDroits):
        referent_b.creer_evenement(saisie(), {"ressource": [masquee]})
    with pytest.raises(ErreurDonnees, match="introuvable"):
        referent_b.creer_evenement(saisie(), {"ressource": [publiee, 99_999]})
    assert etat(magasin) == avant
    ident = referent_b.creer_evenement(saisie(), {"operation": [ops["b_val"]], "ressource": [publiee]})
    assert [r["titre"] for r in referent_b.lire_evenement(ident)["ressources"]] == ["Guide <des> cours, « oasis »"]
    syndicat = protege(magasin, "administrateur")
    syndicat.modifier_evenement(ident, {}, {"ressource": [publiee, masquee]})
    assert [r["id"] for r in syndicat.lire_evenement(ident)["ressources"]] == [publiee, masquee]
    assert [r["id"] for r in protege(magasin, "visiteur").lire_evenement(ident)["ressources"]] == [publiee]
    _, vevent = relire_ics(service_agenda.construire_ics_evenement(protege(magasin, "visiteur"), ident)[1]
                           .decode("utf-8"))
    assert "Ressources liées :\n- Guide <des> cours, « oasis »" in vevent["DESCRIPTION"]
    assert "Étude interne" not in vevent["DESCRIPTION"]
    magasin.supprimer_ressource(publiee, EMAILS["administrateur"])
    assert magasin.lire_evenement(ident)["ressource_ids"] == [masquee]
