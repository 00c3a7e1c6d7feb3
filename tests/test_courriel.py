"""Résumé des notifications par courriel (issue 16) : configuration SMTP, composition (texte et HTML échappé,
liens internes seulement, désabonnement), envoi à un serveur SMTP local qui refuse puis accepte, préférences
(fréquence, jeton de désabonnement, résumés dus) et droits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from donnees.comptes import VISITEUR, Utilisateur, creer_compte
from donnees.courriel import ErreurEnvoi, envoyer_message, lire_configuration_smtp
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin
from serveur_smtp import ServeurSmtp
from vues.courriels import composer_courriel, construire_lien, construire_resume

GENRES = {"reponse": "Réponses dans les fils que vous suivez", "validation": "Opérations validées"}
URL = "https://desimper.exemple.fr"
PIEGE = '<img src="http://exemple.invalid/x.png"><script>alert(1)</script> & « guillemets »\r\nBcc: x@y.fr'


def _notifications(*textes) -> pd.DataFrame:
    depart = datetime(2026, 12, 1, 8, 0)
    return pd.DataFrame({"id": range(1, len(textes) + 1), "genre": ["reponse", "validation", "autre"][:len(textes)],
                         "texte": list(textes), "lien": ["/fiche?id=12", "javascript:alert(1)", "//pirate.fr/x"][
                             :len(textes)],
                         "cree_le": [depart + timedelta(hours=i) for i in range(len(textes))]})


def test_configuration_smtp_lue_et_refusee_en_francais():
    with ServeurSmtp() as serveur:
        configuration = lire_configuration_smtp(serveur.environnement())
    assert configuration.port == serveur.port and configuration.securite == "aucune"
    assert "mot_de_passe" not in repr(lire_configuration_smtp({**serveur.environnement(),
                                                               "DESIMPER_SMTP_MOT_DE_PASSE": "secret"}))
    assert lire_configuration_smtp({**serveur.environnement(), "DESIMPER_SMTP_PORT": "",
                                    "DESIMPER_SMTP_SECURITE": "tls"}).port == 465
    cas = [({}, "DESIMPER_SMTP_HOTE"), ({"DESIMPER_SMTP_SECURITE": "ssl3"}, "starttls, tls ou aucune"),
           ({"DESIMPER_SMTP_PORT": "99999"}, "entre 1 et 65535"),
           ({"DESIMPER_SMTP_EXPEDITEUR": "pas-une-adresse"}, "adresse électronique"),
           ({"DESIMPER_SMTP_EXPEDITEUR": "a@b.fr\r\nBcc: c@d.fr"}, "adresse électronique"),
           ({"DESIMPER_URL_APPLICATION": "javascript:alert(1)"}, "adresse publique")]
    for modification, attendu in cas:
        environnement = {} if not modification else {**serveur.environnement(), **modification}
        with pytest.raises(ErreurDonnees, match=attendu):
            lire_configuration_smtp(environnement)


def test_liens_internes_seulement():
    assert construire_lien(URL, "/fiche?id=12") == URL + "/fiche?id=12"
    for lien in ("javascript:alert(1)", "//pirate.fr/x", "https://pirate.fr", "/fiche?id=1\r\nX: y", None, ""):
        assert construire_lien(URL, lien) == URL + "/notifications", lien


def test_resume_groupe_echappe_et_desabonnement():
    resume = construire_resume("ref@sete.fr", "Camille <b>Référente</b>", "Bassin de Thau", "quotidienne",
                               _notifications(PIEGE, "Opération « Cour » validée", "Autre chose"), GENRES, URL,
                               "jeton-abc")
    message = composer_courriel(resume, "desimper@bassin-thau.fr")
    assert message["Subject"] == "Désimper — 3 notifications (Bassin de Thau)"
    assert message["To"] == "ref@sete.fr" and message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == f"<{URL}/connexion?desabonner=jeton-abc>"
    texte = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert [g.titre for g in resume.groupes] == [*GENRES.values(), "Autres notifications"]
    # HTML : balises saisies échappées, aucune ressource externe, aucun lien hors de l'application.
    assert "<script>" not in html and '<img src="http' not in html and "&lt;script&gt;" in html
    assert "Camille &lt;b&gt;Référente&lt;/b&gt;" in html
    assert 'href="javascript' not in html and "pirate.fr" not in html
    # Texte brut : caractères de contrôle neutralisés (pas d'en-tête injecté), lien de désabonnement.
    assert "\r\nBcc" not in texte and "Bcc: x@y.fr" in texte
    assert f"{URL}/connexion?desabonner=jeton-abc" in texte and f"{URL}/fiche?id=12" in texte
    assert "Bcc" not in str(message["Bcc"] or "")


def test_envoi_refuse_puis_accepte_une_seule_fois():
    resume = construire_resume("ref@sete.fr", "Camille", "Bassin de Thau", "quotidienne", _notifications("Bonjour"),
                               GENRES, URL, "j")
    with ServeurSmtp(refus=1) as serveur:
        configuration = lire_configuration_smtp(serveur.environnement())
        message = composer_courriel(resume, configuration.expediteur)
        with pytest.raises(ErreurEnvoi, match="451"):
            envoyer_message(configuration, message)
        assert serveur.boite.recus == []
        envoyer_message(configuration, message)
    assert serveur.boite.tentatives == 2 and len(serveur.boite.recus) == 1
    expediteur, destinataires, recu = serveur.boite.recus[0]
    assert destinataires == ["ref@sete.fr"] and recu["Subject"] == "Désimper — 1 notification (Bassin de Thau)"


def test_serveur_injoignable_message_francais():
    with ServeurSmtp() as serveur:
        environnement = serveur.environnement()
    configuration = lire_configuration_smtp(environnement)  # serveur arrêté : port fermé
    resume = construire_resume("a@b.fr", "A", "T", "quotidienne", _notifications("x"), GENRES, URL, "j")
    with pytest.raises(ErreurEnvoi, match="injoignable"):
        envoyer_message(configuration, composer_courriel(resume, configuration.expediteur))


@pytest.fixture
def magasin(tmp_path):
    m = Magasin(f"sqlite:///{(tmp_path / 'base.sqlite').as_posix()}")
    m.creer_tables()
    yield m
    m.fermer()


def test_preferences_jeton_et_resumes_dus(magasin):
    assert magasin.lire_preference_courriel("a@b.fr") == {"frequence": "jamais", "dernier_envoi": None}
    magasin.ecrire_preference_courriel("a@b.fr", "quotidienne", "a@b.fr")
    magasin.ecrire_preference_courriel("c@d.fr", "hebdomadaire", "c@d.fr")
    magasin.ecrire_preference_courriel("e@f.fr", "jamais", "e@f.fr")
    with pytest.raises(ErreurDonnees, match="Fréquence du résumé « horaire » inconnue"):
        magasin.ecrire_preference_courriel("a@b.fr", "horaire", "a@b.fr")
    assert magasin.lire_preference_courriel("a@b.fr")["frequence"] == "quotidienne"
    maintenant = datetime(2026, 12, 3, 7, 0)
    dus = magasin.lister_resumes_dus(maintenant)
    assert dus["email"].tolist() == ["a@b.fr", "c@d.fr"] and dus["jeton"].str.len().min() >= 40
    with magasin._ecrire() as conn:
        magasin.noter_resume_envoye(conn, "a@b.fr", maintenant - timedelta(hours=23, minutes=58))
        magasin.noter_resume_envoye(conn, "c@d.fr", maintenant - timedelta(days=2))
    assert magasin.lister_resumes_dus(maintenant)["email"].tolist() == ["a@b.fr"]  # à 2 min près : dû
    assert magasin.lister_resumes_dus(maintenant - timedelta(hours=1))["email"].tolist() == []
    jeton = dus.set_index("email").loc["c@d.fr", "jeton"]
    assert magasin.desabonner_courriel(jeton) == "c@d.fr"
    assert magasin.lire_preference_courriel("c@d.fr")["frequence"] == "jamais"
    for faux in ("", "x" * 65, "inconnu", None):
        with pytest.raises(ErreurDonnees, match="Lien de désabonnement inconnu"):
            magasin.desabonner_courriel(faux)
    journal = magasin.lire_journal()
    assert (journal["table_cible"] == "preference_courriel").sum() == 4  # 3 créations, 1 désabonnement


@pytest.mark.parametrize("utilisateur, permis", [
    (VISITEUR, False),
    (Utilisateur("ref@sete.fr", "Camille", "referent", frozenset({"34301"})), True),
    (Utilisateur("f@agence.fr", "Farid", "financeur"), True),
    (Utilisateur("admin@bassin.fr", "Alice", "administrateur"), True),
])
def test_chacun_ses_preferences(magasin, utilisateur, permis):
    if not utilisateur.est_visiteur:
        creer_compte(magasin, utilisateur.email, utilisateur.nom, utilisateur.role, sorted(utilisateur.communes),
                     "une phrase de passe solide", auteur="test")
    facade = MagasinProtege(magasin, utilisateur, {"34301": "Sète"})
    if not permis:
        with pytest.raises(ErreurDroits, match="sans être connecté"):
            facade.lire_preference_courriel()
        with pytest.raises(ErreurDroits):
            facade.ecrire_preference_courriel("quotidienne")
        return
    facade.ecrire_preference_courriel("hebdomadaire")
    assert facade.lire_preference_courriel()["frequence"] == "hebdomadaire"
    assert magasin.lire_preference_courriel(utilisateur.email)["frequence"] == "hebdomadaire"
    assert magasin.lire_preference_courriel("autre@x.fr")["frequence"] == "jamais"


def test_resume_envoye_une_fois_et_reporte_si_le_serveur_refuse(dossier_demo_copie, tmp_path):
    """Bout en bout : une question posée sous une opération de Sète notifie le référent (base réelle) ; son résumé
    quotidien est refusé une fois par le serveur (rien de marqué, reporté), puis envoyé au passage suivant avec le
    bon contenu, et jamais renvoyé ensuite."""
    from donnees.config import url_base
    from services.courriels import envoyer_resumes_territoire

    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    creer_compte(magasin, "ref.resume@sete.fr", "Camille Résumé", "referent", ["34301"], "une phrase de passe solide",
                 auteur="test")
    operations = magasin.lire_operations()
    cible = int(operations.loc[operations["code_insee"].eq("34301") & ~operations["supprimee"].astype(bool),
                               "id"].iloc[0])
    magasin.publier_message(cible, "question", "Quel paillage <b>après</b> travaux ?", "admin@bassin.fr",
                            "Dominique Syndicat")
    assert len(magasin.lire_notifications_a_envoyer("ref.resume@sete.fr")) == 1
    magasin.ecrire_preference_courriel("ref.resume@sete.fr", "quotidienne", "ref.resume@sete.fr")
    with ServeurSmtp(refus=1) as serveur:
        environnement = serveur.environnement()
        premier = envoyer_resumes_territoire(dossier_demo_copie, environnement)
        assert premier.envoyes == [] and [e for e, _ in premier.reportes] == ["ref.resume@sete.fr"]
        assert "451" in premier.reportes[0][1] and serveur.boite.recus == []
        assert len(magasin.lire_notifications_a_envoyer("ref.resume@sete.fr")) == 1  # rien de perdu
        assert magasin.lire_preference_courriel("ref.resume@sete.fr")["dernier_envoi"] is None
        second = envoyer_resumes_territoire(dossier_demo_copie, environnement)
        assert second.envoyes == [("ref.resume@sete.fr", 1)] and second.reportes == []
        troisieme = envoyer_resumes_territoire(dossier_demo_copie, environnement)
        assert troisieme.envoyes == [] and troisieme.reportes == []
    assert len(serveur.boite.recus) == 1  # une seule fois
    _, destinataires, recu = serveur.boite.recus[0]
    assert destinataires == ["ref.resume@sete.fr"] and "1 notification" in recu["Subject"]
    texte = recu.get_body(("plain",)).get_content()
    html = recu.get_body(("html",)).get_content()
    assert "Bonjour Camille Résumé" in texte and f"/fiche?id={cible}" in texte
    assert "desabonner=" in texte and "<b>après</b>" not in html
    assert magasin.lire_notifications_a_envoyer("ref.resume@sete.fr").empty
    assert magasin.lire_preference_courriel("ref.resume@sete.fr")["dernier_envoi"] is not None
    magasin.fermer()


def test_commande_notifications_envoyer(dossier_demo_copie, capsys, monkeypatch):
    import cli

    with ServeurSmtp() as serveur:
        for cle, valeur in serveur.environnement().items():
            monkeypatch.setenv(cle, valeur)
        assert cli.main(["notifications", "envoyer", "--dossier", str(dossier_demo_copie)]) == 0
    assert "0 résumé(s) envoyé(s)" in capsys.readouterr().out
    monkeypatch.delenv("DESIMPER_SMTP_HOTE")
    assert cli.main(["notifications", "envoyer", "--dossier", str(dossier_demo_copie)]) == 2
    assert "DESIMPER_SMTP_HOTE" in capsys.readouterr().err
