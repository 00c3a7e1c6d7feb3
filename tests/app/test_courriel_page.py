"""Page Connexion (AppTest) : fréquence du résumé par courriel du compte connecté ; désabonnement par le lien d'un
courriel, confirmé par un bouton, sans connexion ; lien inconnu refusé en français."""

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from outils import lancer_appli

MOT_DE_PASSE = "une phrase de passe solide"


def test_frequence_choisie_puis_desabonnement_par_le_lien(monkeypatch, dossier_demo_copie):
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    compte = creer_compte(magasin, "ref@sete.fr", "Camille", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    appli = lancer_appli(monkeypatch, dossier_demo_copie, compte)
    appli.switch_page("pages/connexion.py").run()
    radio = appli.radio(key="frequence_courriel")
    assert radio.value == "jamais"
    radio.set_value("hebdomadaire").run()
    assert not appli.exception, appli.exception
    assert magasin.lire_preference_courriel("ref@sete.fr")["frequence"] == "hebdomadaire"
    assert any("Un résumé par semaine".lower() in s.value.lower() for s in appli.success)

    jeton = magasin.lister_resumes_dus().set_index("email").loc["ref@sete.fr", "jeton"]
    public = lancer_appli(monkeypatch, dossier_demo_copie)
    public.query_params["desabonner"] = "inconnu"
    public.switch_page("pages/connexion.py").run()
    public.button(key="desabonnement").click().run()
    assert "Lien de désabonnement inconnu" in public.error[0].value
    assert magasin.lire_preference_courriel("ref@sete.fr")["frequence"] == "hebdomadaire"
    public.query_params["desabonner"] = jeton
    public.switch_page("pages/connexion.py").run()
    assert magasin.lire_preference_courriel("ref@sete.fr")["frequence"] == "hebdomadaire"  # pas sans confirmer
    public.button(key="desabonnement").click().run()
    assert not public.exception, public.exception
    assert any("ref@sete.fr" in s.value for s in public.success)
    assert magasin.lire_preference_courriel("ref@sete.fr")["frequence"] == "jamais"
    magasin.fermer()


def test_liste_a_corriger_repliee_sous_le_choix_du_resume(monkeypatch, dossier_demo_copie):
    """Plus de trois opérations « à corriger » : la liste est repliée et le choix du résumé reste en haut."""
    from donnees.droits import MagasinProtege
    from pages.commun import NOMBRE_MAX_LISTE_DEPLIEE

    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice", "administrateur", [], MOT_DE_PASSE, auteur="test")
    operations = magasin.lire_operations()
    code = str(operations["code_insee"].value_counts().index[0])
    compte = creer_compte(magasin, "ref@commune.fr", "Camille", "referent", [code], MOT_DE_PASSE, auteur="test")
    choisies = operations[operations["code_insee"] == code].head(NOMBRE_MAX_LISTE_DEPLIEE + 1)
    facade = MagasinProtege(magasin, admin)
    for ligne in choisies.to_dict("records"):
        facade.valider_operation(int(ligne["id"]), int(ligne["version"]), "a_corriger", "Photo manquante.")
    relues = magasin.lire_operations()
    nombre = int(((relues["code_insee"] == code) & (relues["validation"] == "a_corriger")).sum())
    appli = lancer_appli(monkeypatch, dossier_demo_copie, compte)
    appli.switch_page("pages/connexion.py").run()
    assert not appli.exception, appli.exception
    assert any(f"{nombre} opération(s) à corriger" in w.value for w in appli.warning)
    assert [e.label for e in appli.expander].count("Voir les opérations à corriger") == 1
    assert sum(t.value == "Commentaire du syndicat : Photo manquante." for t in appli.text) == len(choisies)
    assert appli.radio(key="frequence_courriel").value == "jamais"
    magasin.fermer()
