"""Échanges et notifications dans l'application (AppTest, issue 16) : le fil sous la fiche et sous chaque retour
d'expérience pour chaque rôle (public : rien, ni nombre ; financeur : lecture ; référent d'une autre commune :
question ; référent de la commune : réponse ; syndicat : réponse et modération), la page Notifications (marquer lu,
tout marquer lu, lien vers la fiche, nombre de non lues dans la navigation), texte hostile affiché en texte."""

from __future__ import annotations

import pytest
from outils import lancer_appli

from donnees.comptes import VISITEUR, creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from pages.commun import lister_pages

MOT_DE_PASSE = "une phrase de passe solide"
SETE, MEZE = "34301", "34157"
HOSTILE = "<script>alert('x')</script> **gras** [piège](javascript:alert(1)) ![img](http://pirate.invalid/x.png)"


@pytest.fixture
def monde(dossier_demo_copie):
    """Comptes des quatre rôles et une opération validée de Sète avec son retour d'expérience."""
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    comptes = {
        "admin": creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE,
                              auteur="test"),
        "sete": creer_compte(magasin, "ref@sete.fr", "Camille Sète", "referent", [SETE], MOT_DE_PASSE, auteur="test"),
        "meze": creer_compte(magasin, "ref@meze.fr", "Dominique Mèze", "referent", [MEZE], MOT_DE_PASSE,
                             auteur="test"),
        "fin": creer_compte(magasin, "fin@agence.fr", "Fanny Financeuse", "financeur", [], MOT_DE_PASSE,
                            auteur="test")}
    operations = magasin.lire_operations()
    choix = operations[operations["code_insee"].eq(SETE) & operations["validation"].eq("validee")
                       & operations["retour_experience"].fillna("").str.strip().ne("")]
    operation = choix.sort_values("id").iloc[0]
    yield magasin, comptes, int(operation["id"]), str(operation["nom"])
    magasin.fermer()


def _fiche(monkeypatch, dossier, compte, ident):
    appli = lancer_appli(monkeypatch, dossier, compte)
    appli.query_params["id"] = str(ident)
    appli.switch_page("pages/fiche.py").run()
    assert not appli.exception, appli.exception
    return appli


def _bouton(appli, libelle):
    return next(b for b in appli.button if b.label == libelle)


def test_fil_de_la_fiche_pour_chaque_role(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, _ = monde
    cle = f"fil_{ident}"

    public = _fiche(monkeypatch, dossier_demo_copie, None, ident)
    assert not any(s.value == "Échanges" for s in public.subheader) and not public.text_area
    assert any("réservées aux membres connectés" in c.value for c in public.caption)

    meze = _fiche(monkeypatch, dossier_demo_copie, comptes["meze"], ident)
    assert any(s.value == "Échanges" for s in meze.subheader)
    assert meze.text_area(key=f"{cle}_texte").label == "Votre question" and not meze.radio
    meze.text_area(key=f"{cle}_texte").input(HOSTILE + "\nDeuxième ligne")
    _bouton(meze, "Publier").click().run()
    assert not meze.exception, meze.exception
    assert any("Question publiée" in s.value for s in meze.success), [e.value for e in meze.error]
    assert any(t.value == HOSTILE + "\nDeuxième ligne" for t in meze.text)  # st.text : jamais interprété
    assert not any("<script>" in m.value for m in meze.markdown)
    assert _bouton(meze, "Ne plus suivre ce fil")  # l'auteur d'une question suit son fil
    assert magasin.lire_notifications("ref@sete.fr")["genre"].tolist() == ["question_commune"]
    # Texte vide : refus en français, rien d'écrit
    _bouton(meze, "Publier").click().run()
    assert any("texte vide" in e.value for e in meze.error)
    assert len(magasin.lire_messages([ident])) == 1

    sete = _fiche(monkeypatch, dossier_demo_copie, comptes["sete"], ident)
    assert sete.text_area(key=f"{cle}_texte").label == "Votre réponse" and sete.radio(key=f"{cle}_genre")
    sete.text_area(key=f"{cle}_texte").input("Un géotextile anti-racines.")
    _bouton(sete, "Publier").click().run()
    assert not sete.exception, sete.exception
    assert any("Réponse publiée" in s.value for s in sete.success)
    assert magasin.lire_messages([ident])["genre"].tolist() == ["question", "reponse"]
    assert magasin.lire_notifications("ref@meze.fr")["genre"].tolist() == ["message_fil"]

    financeur = _fiche(monkeypatch, dossier_demo_copie, comptes["fin"], ident)
    assert not financeur.text_area and any("pas d'y écrire" in c.value for c in financeur.caption)
    assert sum(t.value == "Un géotextile anti-racines." for t in financeur.text) == 1
    _bouton(financeur, "Suivre ce fil").click().run()
    assert magasin.suit_fil(ident, "fin@agence.fr")

    admin = _fiche(monkeypatch, dossier_demo_copie, comptes["admin"], ident)
    question = int(magasin.lire_messages([ident])["id"].iloc[0])
    _bouton(admin, "Masquer").click().run()  # sans motif : refusé
    assert any("motif" in e.value for e in admin.error) and not magasin.lire_message(question)["masque"]
    admin.text_input(key=f"{cle}_motif_{question}").input("Propos hors charte")
    next(b for b in admin.button if b.key == f"{cle}_masquer_{question}").click().run()
    assert not admin.exception, admin.exception
    assert magasin.lire_message(question)["masque"]
    assert any("Masqué par admin@bassin.fr" in c.value and "Propos hors charte" in c.value for c in admin.caption)
    assert any(b.label == "Restaurer" for b in admin.button)
    journal = magasin.lire_journal()
    assert journal[journal["table_cible"].eq("message_fil")]["action"].tolist()[-1] == "suppression"

    meze = _fiche(monkeypatch, dossier_demo_copie, comptes["meze"], ident)
    assert not any("<script>" in t.value for t in meze.text)  # masqué : plus montré aux autres
    assert not any("Propos hors charte" in c.value for c in meze.caption)


def test_fil_sous_chaque_retour_d_experience(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, nom = monde
    magasin.publier_message(ident, "question", "Combien d'arbres ?", "ref@meze.fr", "Dominique Mèze")

    public = lancer_appli(monkeypatch, dossier_demo_copie)
    public.session_state["retours_recherche"] = nom
    public.switch_page("pages/retours.py").run()
    assert not public.exception, public.exception
    assert not any(e.label.startswith("Échanges") for e in public.expander)  # ni fil ni nombre
    assert not any(t.value == "Combien d'arbres ?" for t in public.text)

    sete = lancer_appli(monkeypatch, dossier_demo_copie, comptes["sete"])
    sete.session_state["retours_recherche"] = nom
    sete.switch_page("pages/retours.py").run()
    assert not sete.exception, sete.exception
    assert any(e.label == "Échanges (1)" for e in sete.expander)
    assert any(t.value == "Combien d'arbres ?" for t in sete.text)
    cle = f"retour_fil_{ident}"
    sete.text_area(key=f"{cle}_texte").input("Huit tilleuls.")
    next(b for b in sete.button if b.key == f"{cle}_publier").click().run()
    assert not sete.exception, sete.exception
    assert any(e.label == "Échanges (2)" for e in sete.expander)
    assert magasin.lire_messages([ident])["texte"].tolist() == ["Combien d'arbres ?", "Huit tilleuls."]
    assert magasin.lire_notifications("ref@meze.fr")["lien"].tolist() == [f"/fiche?id={ident}"]

    meze = lancer_appli(monkeypatch, dossier_demo_copie, comptes["meze"])  # référent d'une autre commune
    meze.session_state["retours_recherche"] = nom
    meze.switch_page("pages/retours.py").run()
    assert meze.text_area(key=f"{cle}_texte").label == "Votre question" and not meze.radio
    meze.text_area(key=f"{cle}_texte").input(HOSTILE)
    next(b for b in meze.button if b.key == f"{cle}_publier").click().run()
    assert not meze.exception, meze.exception
    assert any(e.label == "Échanges (3)" for e in meze.expander) and any(t.value == HOSTILE for t in meze.text)
    assert not any("<script>" in m.value for m in meze.markdown)
    assert magasin.lire_notifications("ref@sete.fr")["genre"].tolist() == ["question_commune"] * 2

    financeur = lancer_appli(monkeypatch, dossier_demo_copie, comptes["fin"])
    financeur.session_state["retours_recherche"] = nom
    financeur.switch_page("pages/retours.py").run()
    assert any(e.label == "Échanges (3)" for e in financeur.expander) and not financeur.text_area

    admin = lancer_appli(monkeypatch, dossier_demo_copie, comptes["admin"])
    admin.session_state["retours_recherche"] = nom
    admin.switch_page("pages/retours.py").run()
    assert not admin.exception, admin.exception
    dernier = int(magasin.lire_messages([ident])["id"].iloc[-1])
    admin.text_input(key=f"{cle}_motif_{dernier}").input("Code hostile")
    next(b for b in admin.button if b.key == f"{cle}_masquer_{dernier}").click().run()
    assert not admin.exception, admin.exception
    assert magasin.lire_message(dernier)["masque"]
    assert any(e.label == "Échanges (2)" for e in admin.expander)  # le nombre compte les messages visibles
    assert any("Code hostile" in c.value for c in admin.caption)
    financeur.run()
    assert any(e.label == "Échanges (2)" for e in financeur.expander)
    assert not any(t.value == HOSTILE for t in financeur.text)


def test_page_notifications(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, ident, _ = monde
    assert next(p for p in lister_pages(VISITEUR) if p["chemin"] == "pages/notifications.py")["visible"] is False
    titres = {p["chemin"]: p["titre"] for p in lister_pages(comptes["sete"], nombre_notifications=2)}
    assert titres["pages/notifications.py"] == "Notifications (2)"

    public = lancer_appli(monkeypatch, dossier_demo_copie)
    public.switch_page("pages/notifications.py").run()
    assert not public.exception and any("connectez-vous" in i.value for i in public.info)

    magasin.publier_message(ident, "question", HOSTILE, "ref@meze.fr", "<b>Dominique</b> **Mèze**")
    magasin.publier_message(ident, "question", "Et l'entretien ?", "ref@meze.fr", "Dominique Mèze")
    sete = lancer_appli(monkeypatch, dossier_demo_copie, comptes["sete"])
    sete.switch_page("pages/notifications.py").run()
    assert not sete.exception, sete.exception
    assert sum("non lue" in c.value for c in sete.caption) >= 2
    assert any(t.value.startswith("Question de <b>Dominique</b> **Mèze**") for t in sete.text)  # texte brut
    lues = magasin.lire_notifications("ref@sete.fr")
    assert all(b.label == "Ouvrir" for b in sete.button if b.key.startswith("notification_ouvrir_"))
    assert sum(b.key.startswith("notification_ouvrir_") for b in sete.button) == len(lues)
    assert lues["lien"].str.startswith("/fiche?id=").all()
    # « Ouvrir » marque lue et ouvre la fiche de l'opération.
    deuxieme = int(lues["id"].iloc[1])
    next(b for b in sete.button if b.key == f"notification_ouvrir_{deuxieme}").click().run()
    assert not sete.exception, sete.exception
    assert sete.title[0].value == "Fiche opération"
    assert magasin.compter_notifications_non_lues("ref@sete.fr") == 1
    magasin.publier_message(ident, "question", "Et l'arrosage ?", "ref@meze.fr", "Dominique Mèze")
    sete.switch_page("pages/notifications.py").run()
    premier = int(magasin.lire_notifications("ref@sete.fr")["id"].iloc[0])
    next(b for b in sete.button if b.key == f"notification_lue_{premier}").click().run()
    assert magasin.compter_notifications_non_lues("ref@sete.fr") == 1
    _bouton(sete, "Tout marquer lu").click().run()
    assert not sete.exception, sete.exception
    assert magasin.compter_notifications_non_lues("ref@sete.fr") == 0
    assert any("1 notification(s) marquée(s) lue(s)" in s.value for s in sete.success)
    assert magasin.compter_notifications_non_lues("ref@meze.fr") == 0 and \
        magasin.lire_notifications("ref@meze.fr").empty  # chacun les siennes

    meze = lancer_appli(monkeypatch, dossier_demo_copie, comptes["meze"])
    meze.switch_page("pages/notifications.py").run()
    assert any("Aucune notification" in i.value for i in meze.info)
