"""Comptes locaux : mots de passe argon2, politique, blocage temporaire, sessions, CLI (SQLite et PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

import cli
from donnees import comptes
from donnees.comptes import (
    VISITEUR,
    ErreurAuthentification,
    Utilisateur,
    associer_compte_oidc,
    authentifier,
    creer_compte,
    desactiver_compte,
    generer_mot_de_passe,
    hacher_mot_de_passe,
    lire_compte,
    lire_parametres_comptes,
    modifier_compte,
    reinitialiser_mot_de_passe,
    session_expiree,
    verifier_mot_de_passe,
    verifier_politique_mot_de_passe,
)
from donnees.magasin import Magasin
from donnees.erreurs import ErreurDonnees

TABLES = "journal, photo, financement, zone, operation, utilisateur"
T0 = datetime(2026, 3, 2, 9, 0, 0)
MDP = "une phrase de passe solide"
ADMIN = "admin@bassin-thau.fr"


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def hacheur_rapide(monkeypatch):
    """Argon2id à bas coût pour la vitesse des tests (le format et l'algorithme restent ceux de production)."""
    monkeypatch.setattr(comptes, "HACHEUR", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    comptes._empreinte_leurre.cache_clear()
    yield
    comptes._empreinte_leurre.cache_clear()


@pytest.fixture
def compte(magasin):
    """Un référent de Sète avec le mot de passe ``MDP``."""
    creer_compte(magasin, ADMIN, "Alice Admin", "administrateur", [], MDP, auteur="installation")
    return creer_compte(magasin, "Camille.Martin@Sete.fr", "Camille Martin", "referent", "34301", MDP,
                        auteur=ADMIN)


def etat(magasin, email="camille.martin@sete.fr"):
    return magasin.lire_utilisateur(email)


# ------------------------------------------------------------------------------ paramètres et hachage


def test_parametres_justifies():
    parametres = lire_parametres_comptes()
    assert parametres["longueur_min_mot_de_passe"] == 12
    assert parametres["echecs_avant_blocage"] == 5 and parametres["duree_blocage_minutes"] == 15
    assert parametres["duree_inactivite_session_minutes"] == 60
    for cle in ("longueur_min_mot_de_passe", "echecs_avant_blocage", "duree_blocage_minutes",
                "duree_inactivite_session_minutes"):
        assert len(parametres["justification"][cle]) > 40
    assert "CNIL" in json.dumps(parametres, ensure_ascii=False)


def test_hachage_argon2id_avec_sel():
    empreinte = hacher_mot_de_passe(MDP)
    assert empreinte.startswith("$argon2id$")
    assert MDP not in empreinte
    assert hacher_mot_de_passe(MDP) != empreinte  # sel aléatoire
    assert verifier_mot_de_passe(empreinte, MDP)
    assert not verifier_mot_de_passe(empreinte, MDP + "!")
    assert not verifier_mot_de_passe("pas une empreinte", MDP)
    assert not verifier_mot_de_passe(None, MDP)
    assert not verifier_mot_de_passe(empreinte, None)


def test_hacheur_de_production_par_defaut():
    hacheur = PasswordHasher()
    assert (hacheur.time_cost, hacheur.memory_cost) == (3, 65536)  # RFC 9106, profil « faible mémoire »


@pytest.mark.parametrize(("mot_de_passe", "motif"), [
    (None, "manquant"),
    ("", "manquant"),
    ("   ", "manquant"),
    ("court", "trop court : 12 caractères au moins \\(il en a 5\\)"),
    ("onze-caract", "trop court"),
    ("a" * 300, "trop long"),
    ("aaaaaaaaaaaaaa", "répète trop les mêmes caractères \\(5 caractères différents au moins\\)"),
    ("camille.martin", "contient l'adresse électronique"),
    ("Camille.Martin@Sete.fr", "contient l'adresse électronique"),
    # Issue 13 : politique ASVS L1, chacun avec son explication en français.
    ("motdepasse12", "mots de passe les plus courants ou déjà divulgués"),
    ("123456789012", "suite de chiffres, de lettres ou de touches du clavier"),
    ("aaaaaaaaaaab", "répète trop les mêmes caractères"),
    ("Password1234", "mots de passe les plus courants"),
    ("azertyuiopqs", "suite de chiffres, de lettres ou de touches"),
    ("\0" * 12, "caractère de contrôle ou invisible"),
    ("\0" * 20 + "abcdef", "caractère de contrôle"),
    ("phrase\x1b[31m rouge", "caractère de contrôle"),
    ("x" * 50 * 1024 * 1024, "trop long : 256 caractères au plus \\(il en a 52\u202f428\u202f800\\)"),
    ("je suis camille.martin !", "contient l'adresse électronique"),
    ("Le Bassin de Thau 2026 !", "contient le nom du territoire \\(« Bassin de Thau »\\)"),
    ("lebassindethau2026", "contient le nom du territoire"),
])
def test_politique_refuse(mot_de_passe, motif):
    with pytest.raises(ErreurDonnees, match=motif) as erreur:
        verifier_politique_mot_de_passe(mot_de_passe, "camille.martin@sete.fr", territoire="Bassin de Thau")
    if isinstance(mot_de_passe, str) and len(mot_de_passe) >= 12:
        assert mot_de_passe not in str(erreur.value)  # jamais le mot de passe dans le message


def test_liste_des_mots_de_passe_courants_embarquee_et_sourcee():
    from donnees.mots_de_passe import CHEMIN_LISTE, lire_mots_de_passe_courants

    courants = lire_mots_de_passe_courants()
    assert len(courants) == 10_000 and {"password", "azerty", "motdepasse", "123456"} <= courants
    assert "Source : " in CHEMIN_LISTE.read_text(encoding="utf-8") and "MIT" in CHEMIN_LISTE.read_text(encoding="utf-8")


@pytest.mark.parametrize("mot_de_passe", ["douze-carac.", "une phrase de passe solide", "Ça marche très bien"])
def test_politique_accepte(mot_de_passe):
    verifier_politique_mot_de_passe(mot_de_passe, "camille.martin@sete.fr")


def test_mot_de_passe_genere():
    mots = {generer_mot_de_passe() for _ in range(20)}
    assert len(mots) == 20
    for mot in mots:
        verifier_politique_mot_de_passe(mot)
        assert len(mot) == 23 and not set(mot) & set("0O1lI")


# ------------------------------------------------------------------------------------------ comptes


def test_utilisateur_fige_et_visiteur():
    u = Utilisateur("a@b.fr", "A", "referent", frozenset({"34301"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.role = "administrateur"  # type: ignore[misc]
    assert not u.est_visiteur and not u.est_administrateur and u.libelle_role == "Référent commune"
    assert VISITEUR.est_visiteur and VISITEUR.communes == frozenset() and VISITEUR.libelle_role == "Visiteur"
    assert Utilisateur("x@y.fr", "X", "administrateur", actif=False).est_visiteur


def test_creer_compte(magasin, compte):
    assert compte == Utilisateur("camille.martin@sete.fr", "Camille Martin", "referent", frozenset({"34301"}), True)
    ligne = etat(magasin)
    assert ligne["mot_de_passe_hash"].startswith("$argon2id$")
    journal = magasin.lire_journal()
    assert list(journal["auteur"]) == ["installation", ADMIN]
    texte = " ".join(str(d) for d in journal["diff"])
    assert "argon2" not in texte and MDP not in texte
    assert lire_compte(magasin, "CAMILLE.MARTIN@sete.fr") == compte
    assert lire_compte(magasin, "inconnu@sete.fr") is None


def test_creer_compte_mot_de_passe_faible_rien_ecrit(magasin):
    with pytest.raises(ErreurDonnees, match="trop court"):
        creer_compte(magasin, "x@sete.fr", "X", "financeur", [], "court", auteur=ADMIN)
    assert magasin.compter()["utilisateur"] == 0 and magasin.compter()["journal"] == 0


def test_compte_sans_mot_de_passe_local(magasin):
    creer_compte(magasin, "oidc@sete.fr", "Par ProConnect", "financeur", None, None, auteur=ADMIN)
    assert etat(magasin, "oidc@sete.fr")["mot_de_passe_hash"] is None
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, "oidc@sete.fr", "", maintenant=T0)
    assert erreur.value.motif == "inconnu"


def test_modifier_compte(magasin, compte):
    u = modifier_compte(magasin, compte.email, ADMIN, nom="Camille Durand", communes=["34301", "34157"])
    assert u.nom == "Camille Durand" and u.communes == {"34301", "34157"}
    u = modifier_compte(magasin, compte.email, ADMIN, role="financeur", communes=[])
    assert u.role == "financeur" and u.communes == frozenset()
    diff = magasin.lire_journal().iloc[-1]["diff"]
    assert diff == {"role": ["referent", "financeur"], "communes": [["34301", "34157"], []]}
    nb = magasin.compter()["journal"]
    assert modifier_compte(magasin, compte.email, ADMIN, nom="Camille Durand") == u  # sans changement
    assert magasin.compter()["journal"] == nb
    with pytest.raises(ErreurDonnees, match="au moins une commune"):
        modifier_compte(magasin, compte.email, ADMIN, role="referent")
    with pytest.raises(ErreurDonnees, match="rôle"):
        modifier_compte(magasin, compte.email, ADMIN, role="maire")
    with pytest.raises(ErreurDonnees, match="Aucun compte"):
        modifier_compte(magasin, "personne@sete.fr", ADMIN, nom="X")
    with pytest.raises(ErreurDonnees, match="non modifiable"):
        magasin.modifier_utilisateur(compte.email, {"email": "autre@sete.fr"}, ADMIN)
    assert magasin.compter()["journal"] == nb


def test_dernier_administrateur_protege(magasin, compte):
    with pytest.raises(ErreurDonnees, match="dernier administrateur actif"):
        desactiver_compte(magasin, ADMIN, ADMIN)
    with pytest.raises(ErreurDonnees, match="dernier administrateur actif"):
        modifier_compte(magasin, ADMIN, ADMIN, role="financeur")
    modifier_compte(magasin, compte.email, ADMIN, role="administrateur")
    assert not desactiver_compte(magasin, ADMIN, compte.email).actif


# ---------------------------------------------------------------------------------- authentification


def test_authentifier_reussite(magasin, compte):
    u = authentifier(magasin, "  CAMILLE.martin@sete.fr ", MDP, maintenant=T0)
    assert u == compte
    ligne = etat(magasin)
    assert ligne["derniere_connexion"] == T0 and ligne["echecs_connexion"] == 0
    derniere = magasin.lire_journal().iloc[-1]
    assert derniere["auteur"] == compte.email and derniere["table_cible"] == "utilisateur"
    assert derniere["diff"]["derniere_connexion"] == [None, T0.isoformat()]


def test_meme_message_adresse_inconnue_ou_mot_de_passe_faux(magasin, compte):
    with pytest.raises(ErreurAuthentification) as inconnu:
        authentifier(magasin, "personne@sete.fr", MDP, maintenant=T0)
    with pytest.raises(ErreurAuthentification) as faux:
        authentifier(magasin, compte.email, "mauvais mot de passe", maintenant=T0)
    with pytest.raises(ErreurAuthentification) as illisible:
        authentifier(magasin, None, None, maintenant=T0)  # type: ignore[arg-type]
    assert str(inconnu.value) == str(faux.value) == str(illisible.value)
    assert "incorrect" in str(faux.value) and "5 échecs" in str(faux.value) and "15 minutes" in str(faux.value)
    assert (inconnu.value.motif, faux.value.motif) == ("inconnu", "mot_de_passe")
    assert isinstance(faux.value, ErreurDonnees)
    assert etat(magasin)["echecs_connexion"] == 1


def test_blocage_apres_cinq_echecs_puis_deblocage(magasin, compte):
    for rang in range(1, 5):
        with pytest.raises(ErreurAuthentification):
            authentifier(magasin, compte.email, "mauvais", maintenant=T0 + timedelta(seconds=rang))
        assert etat(magasin)["echecs_connexion"] == rang and etat(magasin)["bloque_jusqua"] is None
    cinquieme = T0 + timedelta(seconds=5)
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, compte.email, "mauvais", maintenant=cinquieme)
    message = str(erreur.value)
    assert etat(magasin)["echecs_connexion"] == 5
    assert etat(magasin)["bloque_jusqua"] == cinquieme + timedelta(minutes=15)

    # Bloqué : même le bon mot de passe est refusé, avec le même message, sans compter d'échec.
    with pytest.raises(ErreurAuthentification) as bloque:
        authentifier(magasin, compte.email, MDP, maintenant=cinquieme + timedelta(minutes=14, seconds=59))
    assert bloque.value.motif == "bloque" and str(bloque.value) == message
    assert etat(magasin)["echecs_connexion"] == 5

    # Le délai écoulé, la connexion réussit et remet tout à zéro.
    apres = cinquieme + timedelta(minutes=15)
    assert authentifier(magasin, compte.email, MDP, maintenant=apres) == compte
    ligne = etat(magasin)
    assert ligne["echecs_connexion"] == 0 and ligne["bloque_jusqua"] is None and ligne["derniere_connexion"] == apres


def test_nouvel_echec_apres_blocage_rebloque(magasin, compte):
    for _ in range(5):
        with pytest.raises(ErreurAuthentification):
            authentifier(magasin, compte.email, "mauvais", maintenant=T0)
    plus_tard = T0 + timedelta(minutes=20)
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, compte.email, "encore faux", maintenant=plus_tard)
    assert erreur.value.motif == "mot_de_passe"
    assert etat(magasin)["echecs_connexion"] == 6
    assert etat(magasin)["bloque_jusqua"] == plus_tard + timedelta(minutes=15)
    echecs = magasin.lire_journal()
    echecs = echecs[echecs["auteur"] == "systeme"]
    assert len(echecs) == 6 and echecs.iloc[-1]["diff"]["echecs_connexion"] == [5, 6]


def test_horloge_avec_fuseau(magasin, compte):
    paris = timezone(timedelta(hours=1))
    authentifier(magasin, compte.email, MDP, maintenant=datetime(2026, 3, 2, 10, 0, tzinfo=paris))
    assert etat(magasin)["derniere_connexion"] == T0


def test_compte_desactive(magasin, compte):
    desactiver_compte(magasin, compte.email, ADMIN)
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, compte.email, MDP, maintenant=T0)
    assert erreur.value.motif == "inactif"
    with pytest.raises(ErreurAuthentification) as inconnu:
        authentifier(magasin, "personne@sete.fr", MDP, maintenant=T0)
    assert str(erreur.value) == str(inconnu.value)
    modifier_compte(magasin, compte.email, ADMIN, actif=True)
    assert authentifier(magasin, compte.email, MDP, maintenant=T0).actif


def _refus_journalises(caplog) -> list:
    return [r for r in caplog.records if r.name == "donnees.comptes" and r.getMessage().startswith("Connexion refusée")]


def test_refus_de_connexion_journalises_avec_leur_raison_sans_mot_de_passe(magasin, compte, caplog):
    """Chaque refus est consigné (WARNING) avec sa raison ; ni le mot de passe, ni le texte saisi comme adresse
    sans compte (ce peut être un mot de passe tapé dans le mauvais champ) n'apparaissent dans le journal."""
    caplog.set_level("INFO", logger="donnees.comptes")
    tentatives = [
        ("personne@sete.fr", MDP, "inconnu", "compte inconnu"),
        (MDP, "peu importe", "inconnu", "compte inconnu"),  # mot de passe tapé dans le champ de l'adresse
        (compte.email, "mauvais mot de passe 1", "mot_de_passe", "mot de passe faux (1 échec consécutif)"),
    ]
    tentatives += [(compte.email, f"mauvais mot de passe {rang}", "mot_de_passe",
                    f"mot de passe faux ({rang} échecs consécutifs") for rang in range(2, 6)]
    tentatives += [(compte.email, MDP, "bloque", "compte bloqué (jusqu'à 2026-03-02 09:15 UTC)")]
    for email, mot_de_passe, motif, raison in tentatives:
        caplog.clear()
        with pytest.raises(ErreurAuthentification) as erreur:
            authentifier(magasin, email, mot_de_passe, maintenant=T0)
        assert erreur.value.motif == motif
        (refus,) = _refus_journalises(caplog)
        assert refus.levelname == "WARNING" and refus.motif == motif and raison in refus.getMessage()
        assert mot_de_passe not in caplog.text and MDP not in caplog.text
        if motif == "inconnu":
            assert email.lower() not in caplog.text and "adresse sans compte, empreinte" in refus.getMessage()
        else:
            assert compte.email in refus.getMessage()
    assert "compte bloqué jusqu'à 2026-03-02 09:15 UTC" in _journal_du_cinquieme_echec(magasin, caplog)

    reinitialiser_mot_de_passe(magasin, compte.email, ADMIN, MDP)
    desactiver_compte(magasin, compte.email, ADMIN)
    caplog.clear()
    with pytest.raises(ErreurAuthentification):
        authentifier(magasin, compte.email, MDP, maintenant=T0)
    (refus,) = _refus_journalises(caplog)
    assert refus.motif == "inactif" and "compte désactivé" in refus.getMessage() and MDP not in caplog.text
    caplog.clear()
    with pytest.raises(ErreurAuthentification):
        associer_compte_oidc(magasin, compte.email)
    (refus,) = _refus_journalises(caplog)
    assert refus.motif == "inactif" and "fournisseur d'identité" in refus.getMessage()


def _journal_du_cinquieme_echec(magasin, caplog) -> str:
    """Message consigné au cinquième échec d'un autre compte : il dit que le compte est bloqué."""
    creer_compte(magasin, "autre@sete.fr", "Autre", "referent", "34301", MDP, auteur=ADMIN)
    for _ in range(5):
        caplog.clear()
        with pytest.raises(ErreurAuthentification):
            authentifier(magasin, "autre@sete.fr", "mauvais", maintenant=T0)
    return _refus_journalises(caplog)[0].getMessage()


def test_refus_compte_sans_mot_de_passe_local_journalise(magasin, caplog):
    caplog.set_level("WARNING", logger="donnees.comptes")
    creer_compte(magasin, "oidc@sete.fr", "Oidc", "referent", "34301", None, auteur="installation")
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, "oidc@sete.fr", "une tentative quelconque", maintenant=T0)
    (refus,) = _refus_journalises(caplog)
    assert erreur.value.motif == refus.motif == "inconnu"
    assert "pas de mot de passe local" in refus.getMessage() and "une tentative quelconque" not in caplog.text


def test_temps_de_reponse_comparable_avec_le_journal(magasin, compte, monkeypatch):
    """Le leurre reste vérifié pour un compte inconnu, désactivé ou bloqué (même coût qu'un vrai contrôle)."""
    verifications = []
    verifier = comptes.verifier_mot_de_passe
    monkeypatch.setattr(comptes, "verifier_mot_de_passe",
                        lambda empreinte, mdp: verifications.append(empreinte) or verifier(empreinte, mdp))
    with pytest.raises(ErreurAuthentification):
        authentifier(magasin, "personne@sete.fr", MDP, maintenant=T0)
    with pytest.raises(ErreurAuthentification):
        authentifier(magasin, compte.email, "mauvais", maintenant=T0)
    desactiver_compte(magasin, compte.email, ADMIN)
    with pytest.raises(ErreurAuthentification):
        authentifier(magasin, compte.email, MDP, maintenant=T0)
    leurre = comptes._empreinte_leurre()
    assert verifications == [leurre, etat(magasin)["mot_de_passe_hash"], leurre]


def test_reinitialiser_mot_de_passe(magasin, compte):
    for _ in range(5):
        with pytest.raises(ErreurAuthentification):
            authentifier(magasin, compte.email, "mauvais", maintenant=T0)
    provisoire = reinitialiser_mot_de_passe(magasin, compte.email, ADMIN)
    verifier_politique_mot_de_passe(provisoire)
    ligne = etat(magasin)
    assert ligne["echecs_connexion"] == 0 and ligne["bloque_jusqua"] is None
    assert magasin.lire_journal().iloc[-1]["diff"] == {"mot_de_passe": "modifié"}
    with pytest.raises(ErreurAuthentification):
        authentifier(magasin, compte.email, MDP, maintenant=T0)
    assert authentifier(magasin, compte.email, provisoire, maintenant=T0) == compte

    assert reinitialiser_mot_de_passe(magasin, compte.email, ADMIN, "nouvelle phrase choisie") == \
        "nouvelle phrase choisie"
    assert authentifier(magasin, compte.email, "nouvelle phrase choisie", maintenant=T0) == compte
    nb = magasin.compter()["journal"]
    with pytest.raises(ErreurDonnees, match="trop court"):
        reinitialiser_mot_de_passe(magasin, compte.email, ADMIN, "court")
    with pytest.raises(ErreurDonnees, match="Aucun compte"):
        reinitialiser_mot_de_passe(magasin, "personne@sete.fr", ADMIN)
    assert magasin.compter()["journal"] == nb


def test_empreinte_renouvelee_si_parametres_changent(magasin, compte, monkeypatch):
    ancienne = etat(magasin)["mot_de_passe_hash"]
    monkeypatch.setattr(comptes, "HACHEUR", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    authentifier(magasin, compte.email, MDP, maintenant=T0)
    nouvelle = etat(magasin)["mot_de_passe_hash"]
    assert nouvelle != ancienne and "m=2048,t=2" in nouvelle
    assert magasin.lire_journal().iloc[-1]["diff"]["mot_de_passe"] == "empreinte renouvelée"
    assert authentifier(magasin, compte.email, MDP, maintenant=T0) == compte


def test_associer_compte_oidc(magasin, compte):
    assert associer_compte_oidc(magasin, "Camille.Martin@sete.fr", maintenant=T0) == compte
    assert etat(magasin)["derniere_connexion"] == T0
    with pytest.raises(ErreurAuthentification):
        associer_compte_oidc(magasin, "inconnu@sete.fr")
    desactiver_compte(magasin, compte.email, ADMIN)
    with pytest.raises(ErreurAuthentification) as erreur:
        associer_compte_oidc(magasin, compte.email)
    assert erreur.value.motif == "inactif"


def test_session_expiree():
    assert not session_expiree(T0, T0 + timedelta(minutes=59, seconds=59))
    assert session_expiree(T0, T0 + timedelta(minutes=60))
    assert session_expiree(None, T0)
    utc = T0.replace(tzinfo=timezone.utc)
    assert not session_expiree(utc, datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1))))
    assert not session_expiree(datetime.now(timezone.utc))


# ----------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def dossier_cli(tmp_path, monkeypatch):
    """Dossier de données vide (SQLite), tables créées."""
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.delenv("DESIMPER_MOT_DE_PASSE", raising=False)
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # pas un terminal
    m = Magasin(f"sqlite:///{(tmp_path / 'desimper.sqlite').as_posix()}")
    m.creer_tables()
    yield m
    m.fermer()


def test_cli_creer_avec_option_puis_lister(dossier_cli, capsys):
    code = cli.main(["utilisateur", "creer", "--email", "Admin@Bassin-Thau.fr", "--nom", "Alice Admin",
                     "--role", "administrateur", "--mot-de-passe", MDP])
    sortie = capsys.readouterr().out
    assert code == 0 and "Compte créé : admin@bassin-thau.fr (Alice Admin), Administrateur." in sortie
    assert MDP not in sortie
    assert authentifier(dossier_cli, ADMIN, MDP, maintenant=T0).role == "administrateur"
    assert dossier_cli.lire_journal().iloc[0]["auteur"].startswith("cli:")

    assert cli.main(["utilisateur", "creer", "--email", "ref@sete.fr", "--nom", "Camille", "--role", "referent",
                     "--communes", "34301,34157", "--mot-de-passe", MDP]) == 0
    capsys.readouterr()
    assert cli.main(["utilisateur", "lister"]) == 0
    sortie = capsys.readouterr().out
    assert "2 compte(s)" in sortie
    assert "ref@sete.fr · Camille · Référent commune · communes : 34301, 34157 · actif" in sortie
    assert "dernière connexion : 2026-03-02 09:00 UTC" in sortie
    assert "argon2" not in sortie


def test_cli_mot_de_passe_par_variable(dossier_cli, capsys, monkeypatch):
    monkeypatch.setenv("DESIMPER_MOT_DE_PASSE", MDP)
    assert cli.main(["utilisateur", "creer", "--email", "f@eau.fr", "--nom", "Farid", "--role", "financeur"]) == 0
    assert MDP not in capsys.readouterr().out
    assert authentifier(dossier_cli, "f@eau.fr", MDP, maintenant=T0).role == "financeur"


def test_cli_mot_de_passe_genere_affiche_une_fois(dossier_cli, capsys):
    assert cli.main(["utilisateur", "creer", "--email", "f@eau.fr", "--nom", "Farid", "--role", "financeur"]) == 0
    sortie = capsys.readouterr().out
    ligne = [x for x in sortie.splitlines() if "Mot de passe généré" in x]
    assert len(ligne) == 1
    genere = ligne[0].rsplit(" : ", 1)[1]
    assert authentifier(dossier_cli, "f@eau.fr", genere, maintenant=T0).email == "f@eau.fr"


def test_cli_saisie_masquee_dans_un_terminal(dossier_cli, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    saisies = iter(["court", "premier essai long", "différent du premier", MDP, MDP])
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", lambda invite="": next(saisies))
    assert cli.main(["utilisateur", "creer", "--email", "r@sete.fr", "--nom", "R", "--role", "referent",
                     "--communes", "34301"]) == 0
    sorties = capsys.readouterr()
    assert "trop court" in sorties.err and "diffèrent" in sorties.err
    assert "Mot de passe généré" not in sorties.out
    assert authentifier(dossier_cli, "r@sete.fr", MDP, maintenant=T0).communes == {"34301"}


@pytest.mark.parametrize(("arguments", "motif"), [
    (["--role", "referent"], "au moins une commune"),
    (["--role", "financeur", "--mot-de-passe", "court"], "trop court"),
    (["--role", "financeur", "--communes", "3430"], "code INSEE"),
])
def test_cli_erreurs_en_francais(dossier_cli, capsys, arguments, motif):
    code = cli.main(["utilisateur", "creer", "--email", "x@sete.fr", "--nom", "X", *arguments])
    erreur = capsys.readouterr().err
    assert code == 2 and motif in erreur and "Traceback" not in erreur
    assert dossier_cli.compter()["utilisateur"] == 0


def test_cli_doublon_et_role_inconnu(dossier_cli, capsys):
    arguments = ["utilisateur", "creer", "--email", "x@sete.fr", "--nom", "X", "--role", "financeur",
                 "--mot-de-passe", MDP]
    assert cli.main(arguments) == 0
    assert cli.main(arguments) == 2
    assert "existe déjà" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["utilisateur", "creer", "--email", "y@sete.fr", "--nom", "Y", "--role", "maire"])


def test_cli_lister_base_vide_cree_les_tables(tmp_path, capsys, monkeypatch):
    # Issue 13 : --dossier doit être un dossier de données (ici un territoire sans base encore) ; un dossier
    # quelconque est refusé (tests/test_cli.py).
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    (tmp_path / "neuf").mkdir()
    (tmp_path / "neuf" / "territoire.json").write_text("{}", encoding="utf-8")
    assert cli.main(["utilisateur", "lister", "--dossier", str(tmp_path / "neuf")]) == 0
    assert "Aucun compte" in capsys.readouterr().out


@pytest.mark.postgresql
def test_cli_sur_postgresql(url_pg_module, capsys, monkeypatch):
    m = Magasin(url_pg_module)
    with m.moteur.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    monkeypatch.setenv("DESIMPER_BASE_URL", url_pg_module)
    monkeypatch.setenv("DESIMPER_MOT_DE_PASSE", MDP)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["utilisateur", "creer", "--email", ADMIN, "--nom", "Alice", "--role", "administrateur"]) == 0
    assert cli.main(["utilisateur", "lister"]) == 0
    assert ADMIN in capsys.readouterr().out
    assert authentifier(m, ADMIN, MDP, maintenant=T0).est_administrateur
    m.fermer()



# ------------------------------------------------------------- issue 13 : échecs comptés sans course


def _en_parallele(fonction, nombre: int) -> list:
    """Lance ``fonction(rang)`` dans ``nombre`` fils partis ensemble ; renvoie leurs résultats ou exceptions."""
    depart = threading.Barrier(nombre)

    def lancer(rang):
        depart.wait()
        try:
            return fonction(rang)
        except ErreurDonnees as erreur:  # ErreurAuthentification comprise : c'est le résultat attendu
            return erreur

    with ThreadPoolExecutor(max_workers=nombre) as fils:
        return list(fils.map(lancer, range(nombre)))


def test_trente_echecs_simultanes_comptent_trente(magasin, compte):
    """Le compteur est incrémenté en SQL (echecs = echecs + 1) : 30 échecs simultanés comptent 30."""
    resultats = _en_parallele(lambda rang: magasin.enregistrer_echec_connexion(
        compte.email, T0, 5, timedelta(minutes=15)), 30)
    assert sorted(r["echecs_connexion"] for r in resultats) == list(range(1, 31))
    assert etat(magasin)["echecs_connexion"] == 30 and etat(magasin)["bloque_jusqua"] == T0 + timedelta(minutes=15)


def test_rafale_de_trente_mauvais_mots_de_passe_puis_le_bon_refuse(magasin, compte):
    """30 essais simultanés : chacun est soit compté, soit refusé pour blocage ; aucun ne se perd, et le bon
    mot de passe envoyé ensuite est refusé (compte bloqué)."""
    resultats = _en_parallele(lambda rang: authentifier(magasin, compte.email, f"mauvais mot de passe {rang}",
                                                        maintenant=T0), 30)
    assert all(isinstance(r, ErreurAuthentification) for r in resultats)
    motifs = [r.motif for r in resultats]
    assert set(motifs) <= {"mot_de_passe", "bloque"}
    assert etat(magasin)["echecs_connexion"] == motifs.count("mot_de_passe") >= 5
    with pytest.raises(ErreurAuthentification) as bon:
        authentifier(magasin, compte.email, MDP, maintenant=T0 + timedelta(seconds=1))
    assert bon.value.motif == "bloque"


def test_blocage_survenu_pendant_la_verification_l_emporte(magasin, compte, monkeypatch):
    """Le bon mot de passe est lu avant la rafale et vérifié pendant qu'elle bloque le compte : la remise à
    zéro, conditionnée au non-blocage dans la même instruction SQL, n'a pas lieu."""
    vraie_verification = comptes.verifier_mot_de_passe

    def verifier_pendant_la_rafale(empreinte, mot_de_passe):
        for _ in range(5):
            magasin.enregistrer_echec_connexion(compte.email, T0, 5, timedelta(minutes=15))
        return vraie_verification(empreinte, mot_de_passe)

    monkeypatch.setattr(comptes, "verifier_mot_de_passe", verifier_pendant_la_rafale)
    with pytest.raises(ErreurAuthentification) as erreur:
        authentifier(magasin, compte.email, MDP, maintenant=T0)
    assert erreur.value.motif == "bloque"
    assert etat(magasin)["echecs_connexion"] == 5 and etat(magasin)["bloque_jusqua"] is not None


# Programme d'un « serveur d'application » qui compte 10 échecs de connexion dans la base partagée.
PROGRAMME_ECHECS = """
import sys
from datetime import datetime, timedelta
from donnees.magasin import Magasin
magasin = Magasin(sys.argv[1])
for _ in range(10):
    magasin.enregistrer_echec_connexion(sys.argv[2], datetime(2026, 3, 2, 9), 5, timedelta(minutes=15))
magasin.fermer()
"""


def test_echecs_comptes_entre_processus(magasin, compte):
    """Trois processus (trois serveurs d'application) qui comptent chacun 10 échecs : 30 au total."""
    import os
    import subprocess
    from pathlib import Path

    racine = Path(__file__).resolve().parents[1]
    environnement = dict(os.environ, PYTHONPATH=str(racine))
    processus = [subprocess.Popen([sys.executable, "-c", PROGRAMME_ECHECS, magasin.url, compte.email],
                                  cwd=racine, env=environnement, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    erreurs = [p.communicate(timeout=120)[1] for p in processus]
    assert [p.returncode for p in processus] == [0, 0, 0], erreurs
    assert etat(magasin)["echecs_connexion"] == 30
