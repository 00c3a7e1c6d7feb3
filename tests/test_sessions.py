"""Sessions persistantes et révocables (donnees.sessions) : jeton opaque, empreinte SHA-256 côté serveur,
expiration par inactivité et durée absolue, rotation, déconnexion ici et partout, droits relus (issue 13)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from donnees import comptes
from donnees.comptes import creer_compte, desactiver_compte, lire_parametres_comptes, modifier_compte
from donnees.magasin import table_session
from donnees.sessions import (
    NOM_COOKIE,
    empreinte_jeton,
    fermer_session,
    fermer_sessions_compte,
    lire_duree_cookie_secondes,
    lire_session,
    ouvrir_session,
)

T0 = datetime(2026, 3, 2, 9, 0, 0)
MDP = "une phrase de passe solide"


@pytest.fixture(autouse=True)
def hacheur_rapide(monkeypatch):
    """Argon2id à bas coût pour la vitesse des tests."""
    monkeypatch.setattr(comptes, "HACHEUR", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def personnes(magasin):
    """Un administrateur et un financeur dans le magasin."""
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice", "administrateur", [], MDP, auteur="test")
    financeur = creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], MDP, auteur="test")
    return admin, financeur


def _lignes(magasin) -> list[dict]:
    with magasin.moteur.connect() as conn:
        return [dict(ligne) for ligne in conn.execute(select(table_session).order_by(table_session.c.id)).mappings()]


def test_jeton_aleatoire_dont_seule_l_empreinte_est_gardee(magasin, personnes):
    _, financeur = personnes
    jetons = {ouvrir_session(magasin, financeur, agent="Mozilla/5.0 " + "x" * 500, maintenant=T0) for _ in range(3)}
    assert len(jetons) == 3 and all(len(j) == 43 for j in jetons)  # 32 octets en base64url
    lignes = _lignes(magasin)
    assert {ligne["empreinte"] for ligne in lignes} == {hashlib.sha256(j.encode()).hexdigest() for j in jetons}
    contenu = json.dumps(lignes, default=str)
    assert not any(j in contenu for j in jetons)  # le jeton n'est stocké nulle part
    assert all(ligne["expire_le"] == T0 + timedelta(hours=12) and len(ligne["agent"]) == 300 for ligne in lignes)
    assert NOM_COOKIE == "desimper_session" and lire_duree_cookie_secondes() == 12 * 3600


@pytest.mark.parametrize("jeton", [None, "", "x" * 43 + "!", "a" * 1_000_000, "\x00" * 43, 12, b"a" * 43,
                                   "../../desimper.sqlite"])
def test_jeton_absent_ou_forge_refuse_sans_erreur(magasin, personnes, jeton):
    etat = lire_session(magasin, jeton, maintenant=T0)
    assert etat.utilisateur is None and etat.motif == "inconnue" and etat.message is None
    assert not fermer_session(magasin, jeton)


def test_session_relue_avec_l_etat_courant_du_compte(magasin, personnes):
    _, financeur = personnes
    jeton = ouvrir_session(magasin, financeur, maintenant=T0)
    assert lire_session(magasin, jeton, maintenant=T0).utilisateur == financeur
    modifier_compte(magasin, "agence@eau.fr", "admin@bassin.fr", role="referent", communes=["34301"])
    relu = lire_session(magasin, jeton, maintenant=T0 + timedelta(minutes=1)).utilisateur
    assert (relu.role, relu.communes) == ("referent", frozenset({"34301"}))  # nouveaux droits tout de suite
    desactiver_compte(magasin, "agence@eau.fr", "admin@bassin.fr")
    etat = lire_session(magasin, jeton, maintenant=T0 + timedelta(minutes=2))
    assert etat.utilisateur is None and etat.motif == "compte" and "désactivé" in etat.message
    modifier_compte(magasin, "agence@eau.fr", "admin@bassin.fr", actif=True)
    assert lire_session(magasin, jeton, maintenant=T0 + timedelta(minutes=3)).motif == "revoquee"  # fermée


def test_expiration_par_inactivite(magasin, personnes):
    _, financeur = personnes
    inactivite = timedelta(minutes=lire_parametres_comptes()["duree_inactivite_session_minutes"])
    jeton = ouvrir_session(magasin, financeur, maintenant=T0)
    assert lire_session(magasin, jeton, maintenant=T0 + inactivite - timedelta(seconds=1)).utilisateur
    # l'activité notée repousse l'échéance
    assert lire_session(magasin, jeton, maintenant=T0 + 2 * inactivite - timedelta(seconds=2)).utilisateur
    etat = lire_session(magasin, jeton, maintenant=T0 + 3 * inactivite)
    assert etat.utilisateur is None and etat.motif == "inactivite" and "inactivité" in etat.message
    assert lire_session(magasin, jeton, maintenant=T0 + 3 * inactivite).motif == "revoquee"
    assert _lignes(magasin)[0]["motif_revocation"] == "inactivite"


def test_activite_notee_au_plus_une_fois_par_intervalle(magasin, personnes):
    _, financeur = personnes
    intervalle = timedelta(seconds=lire_parametres_comptes()["intervalle_activite_session_secondes"])
    jeton = ouvrir_session(magasin, financeur, maintenant=T0)
    lire_session(magasin, jeton, maintenant=T0 + intervalle / 2)
    assert _lignes(magasin)[0]["derniere_activite"] == T0
    lire_session(magasin, jeton, maintenant=T0 + intervalle)
    assert _lignes(magasin)[0]["derniere_activite"] == T0 + intervalle


def test_duree_de_vie_absolue_malgre_l_activite(magasin, personnes):
    _, financeur = personnes
    parametres = lire_parametres_comptes()
    absolue = timedelta(hours=parametres["duree_absolue_session_heures"])
    pas = timedelta(minutes=parametres["duree_inactivite_session_minutes"] // 2)
    jeton = ouvrir_session(magasin, financeur, maintenant=T0)
    instant = T0
    while instant + pas < T0 + absolue:  # active toute la journée, jamais inactive
        instant += pas
        assert lire_session(magasin, jeton, maintenant=instant).utilisateur == financeur
    etat = lire_session(magasin, jeton, maintenant=T0 + absolue)
    assert etat.utilisateur is None and etat.motif == "duree" and "durée maximale" in etat.message


def test_rotation_a_la_connexion(magasin, personnes):
    _, financeur = personnes
    ancien = ouvrir_session(magasin, financeur, maintenant=T0)
    nouveau = ouvrir_session(magasin, financeur, ancien_jeton=ancien, maintenant=T0 + timedelta(minutes=5))
    assert nouveau != ancien
    assert lire_session(magasin, ancien, maintenant=T0 + timedelta(minutes=6)).motif == "revoquee"
    assert lire_session(magasin, nouveau, maintenant=T0 + timedelta(minutes=6)).utilisateur == financeur
    assert [ligne["motif_revocation"] for ligne in _lignes(magasin)] == ["rotation", None]


def test_jeton_rejoue_apres_deconnexion_refuse(magasin, personnes):
    _, financeur = personnes
    jeton = ouvrir_session(magasin, financeur, maintenant=T0)
    assert fermer_session(magasin, jeton, maintenant=T0 + timedelta(minutes=1))
    assert not fermer_session(magasin, jeton)  # déjà fermée
    for minutes in (2, 30, 60 * 24):
        etat = lire_session(magasin, jeton, maintenant=T0 + timedelta(minutes=minutes))
        assert etat.utilisateur is None and etat.motif == "revoquee"


def test_deconnexion_de_tous_les_appareils(magasin, personnes):
    admin, financeur = personnes
    poste, telephone = (ouvrir_session(magasin, financeur, agent=a, maintenant=T0) for a in ("poste", "téléphone"))
    autre = ouvrir_session(magasin, admin, maintenant=T0)
    assert [s["agent"] for s in magasin.lister_sessions_ouvertes("agence@eau.fr", T0)] == ["poste", "téléphone"]
    assert fermer_sessions_compte(magasin, "agence@eau.fr", maintenant=T0 + timedelta(minutes=1)) == 2
    assert {lire_session(magasin, j, maintenant=T0 + timedelta(minutes=2)).motif for j in (poste, telephone)} == {
        "revoquee"}
    assert lire_session(magasin, autre, maintenant=T0 + timedelta(minutes=2)).utilisateur == admin  # pas touchée
    assert magasin.lister_sessions_ouvertes("agence@eau.fr", T0) == []


def test_parametres_de_session_justifies():
    parametres = lire_parametres_comptes()
    for cle in ("duree_inactivite_session_minutes", "duree_absolue_session_heures",
                "intervalle_activite_session_secondes"):
        assert isinstance(parametres[cle], int) and parametres[cle] >= 1
        assert parametres["justification"][cle]
    assert "ASVS" in parametres["justification"]["duree_absolue_session_heures"]
    # l'intervalle d'activité reste petit devant l'inactivité permise
    assert parametres["intervalle_activite_session_secondes"] < 60 * parametres["duree_inactivite_session_minutes"]


def test_empreinte_jeton():
    assert empreinte_jeton("A" * 43) == hashlib.sha256(b"A" * 43).hexdigest()
    assert empreinte_jeton("A" * 42) is None and empreinte_jeton("é" * 43) is None


def test_base_en_lecture_seule_n_empeche_pas_de_lire_sa_session(tmp_path, monkeypatch, caplog):
    """Dossier en lecture seule ou disque plein : noter l'activité échoue, la session reste lisible et la panne
    est consignée ; une session expirée reste refusée même si sa révocation ne peut pas s'écrire."""
    from sqlalchemy.exc import OperationalError

    from donnees.magasin import Magasin

    magasin = Magasin(f"sqlite:///{(tmp_path / 'magasin.sqlite').as_posix()}")
    magasin.creer_tables()
    try:
        financeur = creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], MDP, auteur="test")
        jeton = ouvrir_session(magasin, financeur, maintenant=T0)

        def refuser(*_arguments):
            raise OperationalError("UPDATE session_utilisateur", {}, Exception("attempt to write a readonly database"))

        monkeypatch.setattr(magasin, "noter_activite_session", refuser)
        monkeypatch.setattr(magasin, "revoquer_session", refuser)
        assert lire_session(magasin, jeton, maintenant=T0 + timedelta(minutes=5)).utilisateur == financeur
        assert "écriture impossible" in caplog.text
        assert lire_session(magasin, jeton, maintenant=T0 + timedelta(hours=13)).motif == "duree"
    finally:
        magasin.fermer()


# ------------------------------------------------------------------ purge, liste, fermetures (issue 13, suite)


def test_purge_des_sessions_expirees(magasin, personnes):
    from donnees.sessions import purger_sessions_expirees

    admin, financeur = personnes
    ancienne = ouvrir_session(magasin, financeur, maintenant=T0)
    fermee = ouvrir_session(magasin, financeur, maintenant=T0 + timedelta(hours=1))
    fermer_session(magasin, fermee, maintenant=T0 + timedelta(hours=2))
    recente = ouvrir_session(magasin, admin, maintenant=T0 + timedelta(hours=11))
    # 12 h après T0 : seule la première a passé sa durée de vie absolue.
    assert purger_sessions_expirees(magasin, maintenant=T0 + timedelta(hours=12)) == 1
    assert len(_lignes(magasin)) == 2
    assert lire_session(magasin, ancienne, maintenant=T0 + timedelta(hours=12)).utilisateur is None
    # À la connexion suivante, la purge passe d'elle-même : la session fermée de T0 + 1 h est partie à T0 + 13 h.
    nouvelle = ouvrir_session(magasin, financeur, maintenant=T0 + timedelta(hours=13, minutes=1))
    assert {ligne["empreinte"] for ligne in _lignes(magasin)} == {empreinte_jeton(recente), empreinte_jeton(nouvelle)}
    assert purger_sessions_expirees(magasin, maintenant=T0 + timedelta(hours=13, minutes=1)) == 0


def test_liste_des_sessions_sans_jeton_ni_empreinte(magasin, personnes):
    from donnees.sessions import lister_sessions

    _, financeur = personnes
    poste = ouvrir_session(magasin, financeur, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", maintenant=T0)
    telephone = ouvrir_session(magasin, financeur, agent="Mozilla/5.0 (iPhone) Safari/605",
                               maintenant=T0 + timedelta(minutes=5))
    oubliee = ouvrir_session(magasin, financeur, maintenant=T0 - timedelta(hours=3))  # inactive depuis 3 h
    fermer_session(magasin, telephone, maintenant=T0 + timedelta(minutes=6))
    sessions = lister_sessions(magasin, "agence@eau.fr", jeton_courant=poste, maintenant=T0 + timedelta(minutes=10))
    assert len(sessions) == 1  # ni la fermée, ni celle restée inactive au-delà de 60 min
    session = sessions[0]
    assert set(session) == {"debut", "derniere_activite", "expiration", "agent", "courante"}
    assert session["courante"] is True and session["debut"] == T0
    assert session["expiration"] == T0 + timedelta(minutes=60)  # fin par inactivité, avant les 12 h
    contenu = json.dumps(sessions, default=str)
    assert not any(secret in contenu for secret in (poste, empreinte_jeton(poste), oubliee))


def test_fermer_mes_autres_sessions_garde_la_courante(magasin, personnes):
    from donnees.sessions import fermer_autres_sessions

    admin, financeur = personnes
    ici, ailleurs, encore = (ouvrir_session(magasin, financeur, maintenant=T0) for _ in range(3))
    collegue = ouvrir_session(magasin, admin, maintenant=T0)
    assert fermer_autres_sessions(magasin, "agence@eau.fr", ici, maintenant=T0 + timedelta(minutes=1)) == 2
    instant = T0 + timedelta(minutes=2)
    assert lire_session(magasin, ici, maintenant=instant).utilisateur == financeur
    assert {lire_session(magasin, j, maintenant=instant).motif for j in (ailleurs, encore)} == {"revoquee"}
    assert lire_session(magasin, collegue, maintenant=instant).utilisateur == admin
    assert fermer_autres_sessions(magasin, "agence@eau.fr", "jeton-forge", maintenant=instant) == 0
    assert lire_session(magasin, ici, maintenant=instant).utilisateur == financeur


def test_administrateur_ferme_les_sessions_d_un_compte_journalise(magasin, personnes):
    from donnees.droits import MagasinProtege

    admin, financeur = personnes
    jetons = [ouvrir_session(magasin, financeur) for _ in range(2)]
    facade = MagasinProtege(magasin, admin)
    assert len(facade.lire_sessions_compte("agence@eau.fr")) == 2
    journal_avant = len(magasin.lire_journal())
    assert facade.fermer_sessions_compte("agence@eau.fr") == 2
    assert all(lire_session(magasin, j).motif == "revoquee" for j in jetons)
    assert facade.lire_sessions_compte("agence@eau.fr") == []
    journal = magasin.lire_journal()
    assert len(journal) == journal_avant + 1
    ligne = journal.iloc[-1]
    assert (ligne["auteur"], ligne["action"], ligne["table_cible"]) == ("admin@bassin.fr", "modification",
                                                                        "utilisateur")
    assert ligne["diff"] == {"sessions_ouvertes": [2, 0]}
    assert facade.fermer_sessions_compte("agence@eau.fr") == 0 and len(magasin.lire_journal()) == len(journal)


def test_seul_l_administrateur_voit_et_ferme_les_sessions_des_autres(magasin, personnes):
    from donnees.droits import MagasinProtege
    from donnees.erreurs import ErreurDonnees

    admin, financeur = personnes
    jeton = ouvrir_session(magasin, admin)
    facade = MagasinProtege(magasin, financeur)
    for appel in (facade.lire_sessions_compte, facade.fermer_sessions_compte):
        with pytest.raises(ErreurDonnees):
            appel("admin@bassin.fr")
    assert lire_session(magasin, jeton).utilisateur == admin


def test_commande_sessions_purger(dossier_demo_copie, monkeypatch, capsys):
    import cli
    from donnees.config import url_base
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    financeur = creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], MDP, auteur="test")
    ouvrir_session(magasin, financeur, maintenant=datetime(2020, 1, 1))
    ouvrir_session(magasin, financeur, maintenant=datetime(2020, 1, 1, 1))
    magasin.fermer()
    assert cli.main(["sessions", "purger", "--dossier", str(dossier_demo_copie)]) == 0
    assert "2 session(s) expirée(s) supprimée(s)" in capsys.readouterr().out
