"""AppTest : sessions persistantes (issue 13). Connexion par le formulaire, rechargement avec le cookie, déconnexion
ici et ailleurs, jeton rejoué, expiration ; droits relus à chaque exécution (compte désactivé, rôle changé).

Le cookie du navigateur (``st.context.cookies``) ne peut pas être fourni à AppTest : ``lire_cookie_session`` est
remplacé par le cookie du « navigateur » simulé. Le transport réel est vérifié par
tests/navigateur/test_sessions_navigateur.py.
"""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from outils import connecter_appli, lancer_appli
from sqlalchemy import update

from pages import commun

MDP = "une phrase de passe solide"


@pytest.fixture
def magasin_demo(dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MDP, auteur="test")
    creer_compte(magasin, "agence@eau.fr", "Agence de l'eau", "financeur", [], MDP, auteur="test")
    yield magasin
    magasin.fermer()


def _navigateur(monkeypatch, cookie: dict) -> None:
    """Le cookie que le « navigateur » envoie à l'ouverture de chaque nouvelle page (F5, nouvel onglet)."""
    monkeypatch.setattr(commun, "lire_cookie_session", lambda: cookie.get("valeur"))


def _ouvrir(monkeypatch, dossier: Path, page: str = "pages/connexion.py"):
    appli = lancer_appli(monkeypatch, dossier)
    if page != "pages/vue_ensemble.py":
        appli.switch_page(page).run()
    assert not appli.exception, appli.exception
    return appli


def _connecte(appli) -> str | None:
    """« Nom (rôle) » de l'utilisateur de la dernière exécution (relu dans le magasin), None pour la vue publique.

    (AppTest ne montre plus la barre latérale après ``switch_page`` : on lit l'état de la session.)
    """
    if "utilisateur" not in appli.session_state:
        return None
    utilisateur = appli.session_state["utilisateur"]
    return f"{utilisateur.nom} ({utilisateur.libelle_role})"


def _se_connecter(appli, email: str) -> None:
    appli.text_input[0].input(email)
    appli.text_input[1].input(MDP)
    appli.button[0].click().run()
    assert not appli.exception, appli.exception


def test_script_du_cookie():
    """Cookie posé : jeton, SameSite=Strict, Path=/, Secure sous HTTPS, durée absolue ; effacé : Max-Age=0. Le
    jeton est une chaîne JavaScript échappée (json), jamais dans l'URL."""
    jeton = "A" * 40 + "-_b"
    script = commun.construire_script_cookie(jeton)
    assert f'"desimper_session={jeton}" + \'; Max-Age=43200; Path=/; SameSite=Strict\'' in script
    assert "location.protocol === 'https:' ? '; Secure'" in script and "location.href" not in script
    assert '"desimper_session=" + \'; Max-Age=0; Path=/; SameSite=Strict\'' in commun.construire_script_cookie(None)


def test_connexion_rechargement_puis_deconnexion_et_rejeu(monkeypatch, dossier_demo_copie, magasin_demo):
    cookie: dict = {}
    _navigateur(monkeypatch, cookie)
    onglet = _ouvrir(monkeypatch, dossier_demo_copie)
    assert _connecte(onglet) is None
    _se_connecter(onglet, "agence@eau.fr")
    jeton = onglet.session_state["jeton_session"]
    assert _connecte(onglet) == "Agence de l'eau (Financeur)"
    # cookie à poser par app.py (construire_script_cookie) ; AppTest exécute la page seule après switch_page
    assert onglet.session_state["cookie_session"] == jeton
    cookie["valeur"] = jeton  # le navigateur garde le cookie

    # F5 / nouvel onglet sur un lien profond : nouvelle session Streamlit, même cookie → toujours connecté
    recharge = _ouvrir(monkeypatch, dossier_demo_copie, "pages/vue_ensemble.py")
    assert _connecte(recharge) == "Agence de l'eau (Financeur)"
    assert "Validation" in {p.label for p in recharge.sidebar.pills}  # lit les non validées
    assert "Coût total HT" in {m.label for m in recharge.metric}

    # déconnexion dans le premier onglet : jeton révoqué, cookie effacé
    onglet.switch_page("pages/connexion.py").run()
    onglet.button[0].click().run()  # « Se déconnecter »
    assert not onglet.exception, onglet.exception
    assert _connecte(onglet) is None
    assert onglet.session_state["cookie_session"] is None  # cookie à effacer

    # l'autre onglet redevient public à sa prochaine action, avec une explication
    recharge.run()
    assert _connecte(recharge) is None
    assert "Coût total HT" not in {m.label for m in recharge.metric}
    assert any("déconnecté" in t.value for t in recharge.toast)
    # le jeton rejoué (cookie gardé, nouvel onglet) est refusé
    rejeu = _ouvrir(monkeypatch, dossier_demo_copie, "pages/operations.py")
    assert _connecte(rejeu) is None
    rejeu.session_state["jeton_session"] = jeton  # même posé directement dans la session
    rejeu.run()
    assert _connecte(rejeu) is None and not rejeu.exception


def test_rotation_a_la_connexion_et_deconnexion_de_tous_les_appareils(monkeypatch, dossier_demo_copie,
                                                                       magasin_demo):
    from donnees.sessions import lire_session

    cookie: dict = {}
    _navigateur(monkeypatch, cookie)
    poste = _ouvrir(monkeypatch, dossier_demo_copie)
    _se_connecter(poste, "admin@bassin.fr")
    premier = poste.session_state["jeton_session"]
    cookie["valeur"] = premier
    telephone = _ouvrir(monkeypatch, dossier_demo_copie)  # autre appareil : autre jeton
    telephone.session_state["jeton_session"] = None
    monkeypatch.setattr(commun, "lire_cookie_session", lambda: None)
    telephone.run()
    _se_connecter(telephone, "admin@bassin.fr")
    second = telephone.session_state["jeton_session"]
    assert second != premier and _connecte(telephone) == _connecte(poste) == "Alice Admin (Administrateur)"

    # nouvelle connexion sur le poste (le navigateur portait ``premier``) : l'ancien jeton est révoqué
    _navigateur(monkeypatch, cookie)
    nouveau = _ouvrir(monkeypatch, dossier_demo_copie)
    nouveau.button[0].click().run()  # « Se déconnecter » ferme ``premier``
    _se_connecter(nouveau, "admin@bassin.fr")
    troisieme = nouveau.session_state["jeton_session"]
    assert lire_session(magasin_demo, premier).motif == "revoquee"

    # « Se déconnecter de tous les appareils » depuis le téléphone : le poste est déconnecté aussi
    telephone.switch_page("pages/connexion.py").run()
    telephone.button[1].click().run()
    assert _connecte(telephone) is None
    assert lire_session(magasin_demo, troisieme).motif == "revoquee"
    nouveau.run()
    assert _connecte(nouveau) is None


def _nombre_operations(appli) -> int:
    """Nombre d'opérations lues sur la page Opérations (« 43 opérations. Sélectionnez… »)."""
    appli.switch_page("pages/operations.py").run()
    assert not appli.exception, appli.exception
    legende = next(c.value for c in appli.caption if re.match(r"^\d+ opérations", c.value))
    return int(legende.split()[0])


def _modifier_session(magasin, jeton: str, **valeurs) -> None:
    from donnees.magasin import table_session
    from donnees.sessions import empreinte_jeton

    with magasin.moteur.begin() as conn:
        conn.execute(update(table_session).where(table_session.c.empreinte == empreinte_jeton(jeton))
                     .values(**valeurs))


@pytest.mark.parametrize("champ, message", [("derniere_activite", "inactivité"), ("expire_le", "durée maximale")])
def test_session_expiree_ramene_a_la_vue_publique(monkeypatch, dossier_demo_copie, magasin_demo, champ, message):
    from donnees.comptes import lire_compte

    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    jeton = connecter_appli(appli, lire_compte(magasin_demo, "agence@eau.fr"))
    appli.run()
    assert _connecte(appli) == "Agence de l'eau (Financeur)"
    il_y_a_deux_heures = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=2)
    _modifier_session(magasin_demo, jeton, **{champ: il_y_a_deux_heures})
    appli.run()
    assert _connecte(appli) is None
    assert any(message in t.value for t in appli.toast)
    appli.switch_page("pages/connexion.py").run()
    assert any(message in w.value for w in appli.warning)  # rappelé sur la page Connexion


def test_droits_relus_a_chaque_execution(monkeypatch, dossier_demo_copie, magasin_demo):
    """Financeur désactivé en cours de session : vue publique aussitôt (ni coûts ni non validées) ; rôle changé :
    nouveaux droits aussitôt."""
    from donnees.comptes import desactiver_compte, lire_compte, modifier_compte

    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    publiques = _nombre_operations(appli)
    connecter_appli(appli, lire_compte(magasin_demo, "agence@eau.fr"))
    appli.switch_page("pages/vue_ensemble.py").run()
    assert "Coût total HT" in {m.label for m in appli.metric}
    lues_par_le_financeur = _nombre_operations(appli)
    assert lues_par_le_financeur > publiques  # non validées comprises

    modifier_compte(magasin_demo, "agence@eau.fr", "admin@bassin.fr", role="referent", communes=["34301"])
    appli.switch_page("pages/saisie.py").run()
    assert not appli.exception, appli.exception
    assert appli.selectbox(key="saisie_commune").options == ["Sète (34301)"]
    assert _connecte(appli) == "Agence de l'eau (Référent commune)"

    desactiver_compte(magasin_demo, "agence@eau.fr", "admin@bassin.fr")
    appli.switch_page("pages/vue_ensemble.py").run()
    assert not appli.exception, appli.exception
    assert _connecte(appli) is None
    assert "Coût total HT" not in {m.label for m in appli.metric}
    assert any("désactivé" in t.value for t in appli.toast)
    assert _nombre_operations(appli) == publiques  # validées seulement, dès l'exécution suivante
    appli.switch_page("pages/saisie.py").run()
    assert any("connectez-vous" in i.value for i in appli.info)


def test_connexion_oidc_ouvre_une_session_desimper(monkeypatch, dossier_demo_copie, magasin_demo):
    """ProConnect configuré (``st.login``) : l'adresse attestée ouvre une session sur le compte local actif ; une
    adresse sans compte est refusée avec un message ; « Se déconnecter » ferme aussi la session OIDC."""
    from donnees.sessions import lire_session

    monkeypatch.setattr(commun, "oidc_configure", lambda: True)
    monkeypatch.setattr(commun, "lire_cookie_session", lambda: None)
    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    appli.user = {"is_logged_in": True, "email": "agence@eau.fr"}
    appli.switch_page("pages/connexion.py").run()
    assert not appli.exception, appli.exception
    assert _connecte(appli) == "Agence de l'eau (Financeur)"
    jeton = appli.session_state["jeton_session"]
    assert lire_session(magasin_demo, jeton).utilisateur.email == "agence@eau.fr"
    appli.button[0].click().run()  # « Se déconnecter »
    assert not appli.exception, appli.exception
    assert _connecte(appli) is None and not appli.user.get("is_logged_in")
    assert lire_session(magasin_demo, jeton).motif == "revoquee"
    assert "Se connecter avec ProConnect" in [b.label for b in appli.button]  # à côté du formulaire

    inconnu = lancer_appli(monkeypatch, dossier_demo_copie)
    inconnu.user = {"is_logged_in": True, "email": "personne@ailleurs.fr"}
    inconnu.switch_page("pages/connexion.py").run()
    assert not inconnu.exception, inconnu.exception
    assert _connecte(inconnu) is None and not inconnu.user.get("is_logged_in")
    assert any("Aucun compte Désimper actif" in w.value for w in inconnu.warning)


# ----------------------------------------------------------- sessions ouvertes : Administration et Connexion


def _textes(appli) -> str:
    """Tout le texte affiché (markdown, légendes, messages, tableaux) d'une exécution."""
    morceaux = [e.value for groupe in (appli.markdown, appli.caption, appli.success, appli.error, appli.info)
                for e in groupe]
    morceaux += [t.value.to_csv() for t in appli.dataframe]
    return "\n".join(str(m) for m in morceaux)


def test_administration_liste_et_ferme_les_sessions_d_un_compte(monkeypatch, dossier_demo_copie, magasin_demo):
    from donnees.comptes import Utilisateur
    from donnees.sessions import empreinte_jeton, lire_session, ouvrir_session

    agence = Utilisateur(email="agence@eau.fr", nom="Agence de l'eau", role="financeur")
    jetons = [ouvrir_session(magasin_demo, agence, agent=agent) for agent in (
        "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0", "Mozilla/5.0 (iPhone) Safari/605.1")]
    _navigateur(monkeypatch, {})
    appli = _ouvrir(monkeypatch, dossier_demo_copie)
    _se_connecter(appli, "admin@bassin.fr")
    appli.switch_page("pages/administration.py").run()
    assert not appli.exception, appli.exception
    appli.selectbox(key="admin_sessions_compte").select("agence@eau.fr").run()
    tableaux = [t.value for t in appli.dataframe if "Navigateur" in t.value.columns]
    assert len(tableaux) == 1 and len(tableaux[0]) == 2
    assert list(tableaux[0].columns) == ["Navigateur", "Début", "Dernière activité", "Expiration"]
    assert set(tableaux[0]["Navigateur"]) == {"Firefox sous Windows", "Safari sous iPhone"}
    texte = _textes(appli)
    assert not any(secret in texte for j in jetons for secret in (j, empreinte_jeton(j)))

    appli.button(key="admin_fermer_sessions").click().run()
    assert not appli.exception, appli.exception
    assert "2 session(s) de agence@eau.fr fermée(s) ; fermeture journalisée." in _textes(appli)
    assert all(lire_session(magasin_demo, j).motif == "revoquee" for j in jetons)
    ligne = magasin_demo.lire_journal().iloc[-1]
    assert (ligne["auteur"], ligne["diff"]) == ("admin@bassin.fr", {"sessions_ouvertes": [2, 0]})
    assert "Aucune session ouverte pour ce compte." in _textes(appli)
    assert appli.button(key="admin_fermer_sessions").disabled


def test_fermer_mes_autres_sessions(monkeypatch, dossier_demo_copie, magasin_demo):
    from donnees.comptes import Utilisateur
    from donnees.sessions import lire_session, ouvrir_session

    agence = Utilisateur(email="agence@eau.fr", nom="Agence de l'eau", role="financeur")
    ailleurs = ouvrir_session(magasin_demo, agence, agent="Mozilla/5.0 (Linux; Android 14) Chrome/139.0")
    _navigateur(monkeypatch, {})
    appli = _ouvrir(monkeypatch, dossier_demo_copie)
    _se_connecter(appli, "agence@eau.fr")
    ici = appli.session_state["jeton_session"]
    assert any(e.label == "Mes sessions ouvertes (2)" for e in appli.expander)
    tableau = next(t.value for t in appli.dataframe if "Navigateur" in t.value.columns)
    assert sorted(tableau["Navigateur"]) == ["Chrome sous Android", "inconnu (cette session)"]
    bouton = next(b for b in appli.button if b.label == "Fermer mes autres sessions")
    assert not bouton.disabled
    bouton.click().run()
    assert not appli.exception, appli.exception
    assert "1 autre(s) session(s) fermée(s)." in _textes(appli)
    assert lire_session(magasin_demo, ailleurs).motif == "revoquee"
    assert lire_session(magasin_demo, ici).utilisateur.email == "agence@eau.fr"
    assert _connecte(appli) == "Agence de l'eau (Financeur)"
    assert any(e.label == "Mes sessions ouvertes (1)" for e in appli.expander)
    assert next(b for b in appli.button if b.label == "Fermer mes autres sessions").disabled
