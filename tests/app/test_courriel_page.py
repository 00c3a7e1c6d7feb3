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
