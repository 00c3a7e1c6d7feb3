"""Échanges et notifications (issue 16, parties 2 et 5 « dans l'application ») vérifiés dans la couche de données,
sur SQLite et PostgreSQL : matrice des droits (public, financeur, référent de la commune, référent d'une autre
commune, syndicat), notifications créées une fois pour les bons destinataires dans la transaction qui les cause,
modération journalisée, saisies refusées en français sans rien écrire, texte hostile gardé tel quel."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select
from test_droits import EMAILS, NOMS, A, B, operation

from donnees.comptes import VISITEUR, lire_compte
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.magasin import notifications as module_notifications
from donnees.magasin.notifications import (
    ajouter_notifications,
    lire_genres_notification,
    lire_parametres_echanges,
)
from donnees.magasin.tables import table_abonnement_fil, table_message, table_notification

ROLES = ["visiteur", "financeur", "referent_A", "referent_B", "administrateur"]
CONNECTES = set(ROLES) - {"visiteur"}
HOSTILE = "<script>alert('x')</script> **gras** [lien](javascript:alert(1)) ![img](http://pirate.invalid/x.png)"


@pytest.fixture
def ops(magasin):
    """Comptes des quatre rôles, une opération validée et une non validée à Sète (A), une validée à Mèze (B)."""
    if magasin.est_postgresql:  # tables des échanges hors de la liste vidée par conftest
        with magasin.moteur.begin() as conn:
            conn.exec_driver_sql("TRUNCATE notification, abonnement_fil, message_fil, fil_discussion "
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
    """Nombre de messages, d'abonnements, de notifications et de lignes de journal, et messages masqués."""
    with magasin.moteur.connect() as conn:
        comptes = tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                        for t in (table_message, table_abonnement_fil, table_notification))
        masques = conn.execute(select(func.count()).select_from(table_message).where(
            table_message.c.masque.is_(True))).scalar_one()
    return comptes, masques, len(magasin.lire_journal()), magasin.compter()


def notifications(magasin, role: str) -> list[tuple[str, str]]:
    table = magasin.lire_notifications(EMAILS[role])
    return sorted(zip(table["genre"], table["lien"]))


# ------------------------------------------------------------------------------------------ matrice des droits

def _question(p, o):
    return p.poser_question(o["a_val"], "Quel paillage sous les arbres ?")


MATRICE = {
    "lire_fil_validee": (lambda p, o: p.lire_fil(o["a_val"]), CONNECTES),
    "lire_fil_non_validee": (lambda p, o: p.lire_fil(o["a_nv"]), {"financeur", "referent_A", "administrateur"}),
    "compter_messages": (lambda p, o: p.compter_messages([o["a_val"]]), CONNECTES),
    "question_validee": (_question, {"referent_A", "referent_B", "administrateur"}),
    "question_non_validee": (lambda p, o: p.poser_question(o["a_nv"], "Budget ?"), {"referent_A", "administrateur"}),
    "reponse_commune_A": (lambda p, o: p.repondre(o["a_val"], "Du broyat de la commune."),
                          {"referent_A", "administrateur"}),
    "reponse_commune_B": (lambda p, o: p.repondre(o["b_val"], "Oui."), {"referent_B", "administrateur"}),
    "masquer": (lambda p, o: p.masquer_message(o["message"], "Hors sujet"), {"administrateur"}),
    "restaurer": (lambda p, o: p.restaurer_message(o["masque"]), {"administrateur"}),
    "suivre_fil": (lambda p, o: p.suivre_fil(o["a_val"]), CONNECTES),
    "suivre_fil_non_validee": (lambda p, o: p.suivre_fil(o["a_nv"]), {"financeur", "referent_A", "administrateur"}),
    "lire_notifications": (lambda p, o: p.lire_notifications(), CONNECTES),
    "tout_marquer_lu": (lambda p, o: p.marquer_notifications_lues(), CONNECTES),
}


@pytest.mark.parametrize("action", list(MATRICE))
def test_matrice_des_droits_des_echanges(magasin, ops, action):
    """Chaque rôle non autorisé est refusé en français sans rien écrire ; chaque rôle autorisé réussit."""
    fonction, autorises = MATRICE[action]
    ops["message"] = magasin.publier_message(ops["a_val"], "question", "Premier message", EMAILS["referent_B"], "D")
    ops["masque"] = magasin.publier_message(ops["a_val"], "question", "Message masqué", EMAILS["referent_B"], "D")
    magasin.masquer_message(ops["masque"], "Doublon", EMAILS["administrateur"])
    for role in ROLES:
        avant = etat(magasin)
        if role in autorises:
            fonction(protege(magasin, role), ops)
            if action == "masquer":
                magasin.restaurer_message(ops["message"], "test")
            if action == "restaurer":
                magasin.masquer_message(ops["masque"], "Doublon", "test")
        else:
            with pytest.raises(ErreurDroits) as refus:
                fonction(protege(magasin, role), ops)
            assert refus.value.args[0][:1].isupper() and "Vous ne pouvez pas" in str(refus.value) or \
                "Votre rôle" in str(refus.value) or "Connectez-vous" in str(refus.value), str(refus.value)
            assert etat(magasin) == avant, (action, role)


def test_le_public_ne_voit_ni_fil_ni_nombre_et_le_masque_reste_au_syndicat(magasin, ops):
    visible = magasin.publier_message(ops["a_val"], "question", "Visible", EMAILS["referent_B"], "Dominique")
    masque = magasin.publier_message(ops["a_val"], "question", "Injurieux", EMAILS["referent_B"], "Dominique")
    protege(magasin, "administrateur").masquer_message(masque, "Propos injurieux")
    for role in ("financeur", "referent_A", "referent_B"):
        fil = protege(magasin, role).lire_fil(ops["a_val"])
        assert fil["id"].tolist() == [visible], role
        assert protege(magasin, role).compter_messages([ops["a_val"], ops["b_val"]]) == {ops["a_val"]: 1,
                                                                                          ops["b_val"]: 0}
    fil = protege(magasin, "administrateur").lire_fil(ops["a_val"]).set_index("id")
    assert fil.loc[masque, "masque"] and fil.loc[masque, "motif_masquage"] == "Propos injurieux"
    assert fil.loc[masque, "masque_par"] == EMAILS["administrateur"] and pd.notna(fil.loc[masque, "masque_le"])
    assert protege(magasin, "administrateur").compter_messages([ops["a_val"]]) == {ops["a_val"]: 2}
    # Galerie : seulement les fils des opérations lisibles (pas celui d'une opération non validée d'une autre commune)
    magasin.publier_message(ops["a_nv"], "question", "Interne à Sète", EMAILS["referent_A"], "Camille")
    assert set(protege(magasin, "referent_B").lire_fils([ops["a_val"], ops["a_nv"]])["operation_id"]) == {ops["a_val"]}
    assert set(protege(magasin, "referent_A").lire_fils([ops["a_val"], ops["a_nv"]])["operation_id"]) == \
        {ops["a_val"], ops["a_nv"]}
    for appel in (lambda p: p.lire_fil(ops["a_val"]), lambda p: p.compter_messages([ops["a_val"]]),
                  lambda p: p.lire_fils([ops["a_val"]])):
        with pytest.raises(ErreurDroits, match="sans être connecté"):
            appel(protege(magasin, "visiteur"))


# ------------------------------------------------------------------------------------------ notifications

def test_notifications_une_fois_aux_bons_destinataires_jamais_a_l_auteur(magasin, ops):
    """Question d'un référent de Mèze sous une opération de Sète : le référent de Sète est notifié (une fois) ;
    l'auteur suit le fil ; la réponse notifie l'auteur et les abonnés, jamais celui qui répond."""
    ref_a, ref_b, fin, admin = (protege(magasin, r) for r in ("referent_A", "referent_B", "financeur",
                                                                "administrateur"))
    lien = f"/fiche?id={ops['a_val']}"
    assert fin.suivre_fil(ops["a_val"]) and not fin.suivre_fil(ops["a_val"])  # déjà suivi : rien de plus
    ref_b.poser_question(ops["a_val"], "Comment avez-vous géré les racines ?")
    assert notifications(magasin, "referent_A") == [("question_commune", lien)]
    assert notifications(magasin, "financeur") == [("message_fil", lien)]
    assert notifications(magasin, "referent_B") == [] and notifications(magasin, "administrateur") == []
    assert ref_b.suit_fil(ops["a_val"]) and not ref_a.suit_fil(ops["a_val"])
    texte = magasin.lire_notifications(EMAILS["referent_A"]).iloc[0]["texte"]
    assert "Dominique Mèze" in texte and "racines" not in texte  # le texte d'un message n'est jamais recopié

    ref_a.repondre(ops["a_val"], "Avec un géotextile anti-racines.")
    assert notifications(magasin, "referent_B") == [("message_fil", lien)]
    assert notifications(magasin, "financeur") == [("message_fil", lien)] * 2
    assert notifications(magasin, "referent_A") == [("question_commune", lien)]  # pas la sienne
    assert ref_a.suit_fil(ops["a_val"])  # qui répond suit le fil

    # Le référent de Sète, abonné ET référent de la commune : une seule notification pour une nouvelle question.
    ref_b.poser_question(ops["a_val"], "Et l'arrosage ?")
    assert notifications(magasin, "referent_A") == [("question_commune", lien)] * 2
    admin.repondre(ops["a_val"], "Le syndicat prête un arrosage goutte-à-goutte.")
    assert notifications(magasin, "administrateur") == []
    assert len(magasin.lire_notifications(EMAILS["referent_A"])) == 3 and \
        len(magasin.lire_notifications(EMAILS["referent_B"])) == 2 and \
        len(magasin.lire_notifications(EMAILS["financeur"])) == 4

    assert fin.ne_plus_suivre_fil(ops["a_val"]) and not fin.ne_plus_suivre_fil(ops["a_val"])
    ref_a.repondre(ops["a_val"], "Complément.")
    assert len(magasin.lire_notifications(EMAILS["financeur"])) == 4


def test_pas_de_notification_a_qui_ne_peut_plus_lire_le_fil(magasin, ops):
    """Un abonné dont le compte est désactivé, ou qui ne peut plus lire l'opération (repassée « à valider » : le
    référent d'une autre commune ne la voit plus), n'est plus notifié ; les autres le restent."""
    ref_b = protege(magasin, "referent_B")
    ref_b.suivre_fil(ops["a_val"])
    protege(magasin, "financeur").suivre_fil(ops["a_val"])
    magasin.creer_utilisateur("ancien@sete.fr", "Ancien", "referent", [A], None, auteur="test")
    magasin.suivre_fil(ops["a_val"], "ancien@sete.fr")
    magasin.modifier_utilisateur("ancien@sete.fr", {"actif": False}, "test")
    protege(magasin, "referent_A").modifier_operation(ops["a_val"], 1, {"arbres_plantes": 12})  # « à valider »
    protege(magasin, "administrateur").repondre(ops["a_val"], "Le syndicat regarde.")
    assert notifications(magasin, "referent_B") == []
    assert magasin.lire_notifications("ancien@sete.fr").empty
    assert notifications(magasin, "financeur") == [("message_fil", f"/fiche?id={ops['a_val']}")]


def test_validation_et_correction_notifient_les_referents_de_la_commune(magasin, ops):
    admin = protege(magasin, "administrateur")
    magasin.creer_utilisateur("ref2@sete.fr", "Second Sète", "referent", [A, B], None, auteur="test")
    magasin.creer_utilisateur("inactif@sete.fr", "Ancien", "referent", [A], None, actif=False, auteur="test")
    lien = f"/fiche?id={ops['a_nv']}"
    version = admin.valider_operation(ops["a_nv"], 1, "a_corriger", "Ajoutez les photos après travaux.")
    attendu = [("operation_a_corriger", lien)]
    assert notifications(magasin, "referent_A") == attendu
    assert sorted(zip(*[magasin.lire_notifications("ref2@sete.fr")[c] for c in ("genre", "lien")])) == attendu
    assert magasin.lire_notifications("inactif@sete.fr").empty and notifications(magasin, "referent_B") == []
    assert "Ajoutez les photos après travaux." in magasin.lire_notifications(EMAILS["referent_A"]).iloc[0]["texte"]
    assert magasin.lire_journal(ops["a_nv"]).iloc[-1]["action"] == "validation"  # comportement inchangé
    version = protege(magasin, "referent_A").modifier_operation(ops["a_nv"], version, {"arbres_plantes": 3})
    assert notifications(magasin, "referent_A") == attendu  # une modification ne notifie pas
    admin.valider_operation(ops["a_nv"], version, "validee")
    assert notifications(magasin, "referent_A") == sorted(attendu + [("operation_validee", lien)])
    assert notifications(magasin, "administrateur") == []


def test_une_ecriture_annulee_ne_laisse_ni_message_ni_notification(magasin, ops, monkeypatch):
    """Tout ou rien : une panne dans la création des notifications annule le message, l'abonnement, la décision de
    validation et leur journal."""
    magasin.suivre_fil(ops["a_val"], EMAILS["financeur"])
    avant = etat(magasin)
    version = magasin.lire_operation(ops["a_nv"])["version"]

    def panne(*args, **kwargs):
        raise ErreurDonnees("Panne simulée pendant les notifications.", "notification")

    monkeypatch.setattr("donnees.magasin.echanges.ajouter_notifications", panne)
    with pytest.raises(ErreurDonnees, match="Panne simulée"):
        protege(magasin, "referent_B").poser_question(ops["a_val"], "Question perdue ?")
    assert etat(magasin) == avant
    monkeypatch.setattr("donnees.magasin.operations.notifier_decision_validation", panne)
    with pytest.raises(ErreurDonnees, match="Panne simulée"):
        protege(magasin, "administrateur").valider_operation(ops["a_nv"], version, "validee")
    assert etat(magasin) == avant and magasin.lire_operation(ops["a_nv"])["validation"] == "a_valider"


def test_ajouter_notifications_reutilisable(magasin, ops):
    """La fonction que les ressources et l'agenda appelleront : destinataires distincts, genre de la nomenclature,
    lien interne seulement, tout dans la transaction de l'appelant."""
    assert {"question_commune", "message_fil", "operation_validee", "operation_a_corriger"} <= set(
        lire_genres_notification())
    with magasin._ecrire() as conn:
        assert ajouter_notifications(conn, ["a@b.fr", "a@b.fr", " ", "c@d.fr"], "nouvelle_ressource",
                                     "Nouveau guide", "/ressources?id=3") == 2
    assert magasin.lire_notifications("a@b.fr")["lien"].tolist() == ["/ressources?id=3"]
    for genre, texte, lien, attendu in (("inconnu", "x", None, "genre « inconnu » inconnu"),
                                        ("message_fil", "  ", None, "texte vide"),
                                        ("message_fil", "x", "https://pirate.fr", "n'est pas un lien interne"),
                                        ("message_fil", "x", "//pirate.fr", "n'est pas un lien interne"),
                                        ("message_fil", "x", "/fiche?id=1\nX", "n'est pas un lien interne")):
        with pytest.raises(ErreurDonnees, match=attendu), magasin._ecrire() as conn:
            ajouter_notifications(conn, ["a@b.fr"], genre, texte, lien)
    assert len(magasin.lire_notifications("a@b.fr")) == 1


def test_chacun_ne_lit_et_ne_marque_que_ses_notifications(magasin, ops):
    ref_a, ref_b = protege(magasin, "referent_A"), protege(magasin, "referent_B")
    ref_b.poser_question(ops["a_val"], "Première ?")
    ref_b.poser_question(ops["a_val"], "Seconde ?")
    ref_a.repondre(ops["a_val"], "Réponse.")
    assert ref_a.compter_notifications_non_lues() == 2 and ref_b.compter_notifications_non_lues() == 1
    assert protege(magasin, "visiteur").compter_notifications_non_lues() == 0
    a_ids = ref_a.lire_notifications()["id"].astype(int).tolist()
    b_ids = ref_b.lire_notifications()["id"].astype(int).tolist()
    assert not set(a_ids) & set(b_ids)
    with pytest.raises(ErreurDroits, match="vos propres notifications"):
        ref_b.marquer_notifications_lues(a_ids)
    assert ref_a.compter_notifications_non_lues() == 2
    assert ref_a.marquer_notifications_lues(a_ids[:1]) == 1 and ref_a.compter_notifications_non_lues() == 1
    assert ref_a.marquer_notifications_lues() == 1 and ref_a.compter_notifications_non_lues() == 0
    assert ref_b.compter_notifications_non_lues() == 1
    # Résumé par courriel (partie « courriel ») : non lues et jamais envoyées, marquées une seule fois.
    a_envoyer = magasin.lire_notifications_a_envoyer(EMAILS["referent_B"])
    assert a_envoyer["id"].tolist() == b_ids
    with magasin._ecrire() as conn:
        assert magasin.noter_notifications_envoyees(conn, EMAILS["referent_B"], b_ids, pd.Timestamp.now()) == 1
        assert magasin.noter_notifications_envoyees(conn, EMAILS["referent_B"], b_ids, pd.Timestamp.now()) == 0
    assert magasin.lire_notifications_a_envoyer(EMAILS["referent_B"]).empty


# ------------------------------------------------------------------------------------------ saisies et modération

def test_saisies_refusees_en_francais_sans_rien_ecrire(magasin, ops):
    ref_b = protege(magasin, "referent_B")
    limite = lire_parametres_echanges()["longueur_max_message"]
    avant = etat(magasin)
    cas = [("", "texte vide ; écrivez votre message"), ("   \n\t ", "texte vide"), (None, "texte vide"),
           (12, "texte attendu"), ("x" * (limite + 1), f"{limite + 1} caractères, au plus {limite}"),
           ("Bonjour\x00", "caractère\\(s\\) de contrôle U\\+0000"),
           ("Couleur \x1b[31m", "caractère\\(s\\) de contrôle U\\+001B")]
    for texte, attendu in cas:
        with pytest.raises(ErreurDonnees, match=f"Message, champ « message » \\(texte\\) : {attendu}"):
            ref_b.poser_question(ops["a_val"], texte)
    for operation_id, attendu in ((999, "Opération n° 999 introuvable"), ("1", "entier attendu")):
        with pytest.raises(ErreurDonnees, match=attendu):
            ref_b.poser_question(operation_id, "Bonjour")
    with pytest.raises(ErreurDonnees, match="genre"):
        protege(magasin, "administrateur").publier_message(ops["a_val"], "Bonjour", "avis")
    assert etat(magasin) == avant
    assert ref_b.poser_question(ops["a_val"], "x" * limite) > 0  # la limite elle-même passe


def test_masquer_et_restaurer_journalises_motif_obligatoire(magasin, ops):
    admin = protege(magasin, "administrateur")
    message = protege(magasin, "referent_B").poser_question(ops["a_val"], "Message hors sujet")
    avant = etat(magasin)
    for motif in ("", "  ", None, "m" * (lire_parametres_echanges()["longueur_max_motif"] + 1)):
        with pytest.raises(ErreurDonnees, match="Masquage, champ « motif » \\(motif_masquage\\)"):
            admin.masquer_message(message, motif)
    with pytest.raises(ErreurDonnees, match="Message n° 999 introuvable"):
        admin.masquer_message(999, "Hors sujet")
    with pytest.raises(ErreurDonnees, match="n'est pas masqué"):
        admin.restaurer_message(message)
    assert etat(magasin) == avant
    admin.masquer_message(message, "Hors sujet : voir la page Ressources")
    with pytest.raises(ErreurDonnees, match="déjà masqué"):
        admin.masquer_message(message, "Encore")
    admin.restaurer_message(message)
    journal = magasin.lire_journal()
    journal = journal[journal["table_cible"].eq("message_fil").to_numpy(bool)]
    assert journal["action"].tolist() == ["creation", "suppression", "restauration"]
    assert journal["auteur"].tolist() == [EMAILS["referent_B"], EMAILS["administrateur"], EMAILS["administrateur"]]
    assert journal["diff"].iloc[1] == {"masque": [False, True],
                                       "motif_masquage": [None, "Hors sujet : voir la page Ressources"]}
    assert journal["diff"].iloc[2]["masque"] == [True, False]
    assert not magasin.lire_message(message)["masque"] and magasin.lire_message(message)["motif_masquage"] is None
    assert protege(magasin, "referent_A").lire_fil(ops["a_val"])["id"].tolist() == [message]


def test_texte_hostile_garde_tel_quel(magasin, ops):
    message = protege(magasin, "referent_B").poser_question(ops["a_val"], f"  {HOSTILE}\r\nligne 2  ")
    assert magasin.lire_message(message)["texte"] == f"{HOSTILE}\nligne 2"
    assert magasin.lire_message(message)["auteur_nom"] == "Dominique Mèze"


def test_parametres_et_genres_lus_avec_leur_justification():
    parametres = lire_parametres_echanges()
    assert parametres["longueur_max_message"] >= 1000
    assert set(parametres["justification"]) >= {"longueur_max_message", "longueur_max_motif"}
    assert all(libelle.strip() for libelle in lire_genres_notification().values())
    assert module_notifications.extraire("a  b\nc" + "x" * 300, 10) == "a b cxxxx…"
