"""Every exercise and problem of the book's chapters 1-6, answered: where each answer lives.

The book labels each item "Exercise" or "Problem" but does not number them. We number them as it
presents them: within a chapter, exercises 1, 2, ... and problems 1, 2, ... each in order of
appearance, an item of a list under one heading counting as one ("Chapter 3, exercise 4",
"Chapter 3, problem 2"). Each answer is a section of ``notes/exercises-chN.md`` whose anchor is
``exercise-N`` or ``problem-N``. The modules ``ch1`` ... ``ch6`` hold the code of the answers that
compute something; ``python -m scratchnet.book.exercises chN [--quick]`` runs their experiments.

``kind`` of answer: ``derivation`` (maths on the page), ``code`` (code that runs, tested),
``discussion`` (an argument), ``research`` (the book's open problem: an approach, no claim to
solve it). ``source``: ``ours``, or ``book`` where the book itself states the result (the
derivation on the page is then ours). ``tests``: the tests that check the answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One exercise or problem of the book and where its answer is."""

    chapter: int
    kind: str                  # "exercise" or "problem", as the book labels it
    number: int                # its place among the chapter's items of that kind
    title: str                 # our short title (the book's bold title where it has one)
    answer: str                # "derivation", "code", "discussion" or "research"
    source: str = "ours"       # "book": the book states the result; the derivation is ours
    tests: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """How the notes name it: ``"Chapter 3, problem 2"``."""
        return f"Chapter {self.chapter}, {self.kind} {self.number}"

    @property
    def page(self) -> str:
        """The notes page with its answer, from the repository's root."""
        return f"notes/exercises-ch{self.chapter}.md"

    @property
    def anchor(self) -> str:
        """The answer's section on that page: ``"problem-2"``."""
        return f"{self.kind}-{self.number}"


def _t(chapter: int, *names: str) -> tuple[str, ...]:
    """Test ids in ``tests/test_exercises_chN.py``."""
    return tuple(f"tests/test_exercises_ch{chapter}.py::{name}" for name in names)


E, P = "exercise", "problem"
ITEMS: tuple[Item, ...] = (
    Item(1, E, 1, "Sigmoid neurons simulating perceptrons, part I", "derivation",
         tests=_t(1, "test_scaling_a_perceptron_network_by_c_changes_nothing")),
    Item(1, E, 2, "Sigmoid neurons simulating perceptrons, part II", "derivation",
         tests=_t(1, "test_sigmoid_neurons_become_the_perceptrons_as_c_grows")),
    Item(1, E, 3, "A layer that writes the digit in binary", "code",
         tests=_t(1, "test_the_bitwise_layer_writes_every_digit_in_binary")),
    Item(1, E, 4, "The steepest descent for a step of given length", "derivation",
         tests=_t(1, "test_no_step_of_the_same_length_lowers_the_cost_more")),
    Item(1, E, 5, "Gradient descent in one dimension", "discussion"),
    Item(1, E, 6, "Online learning against mini-batches of 20", "discussion",
         tests=_t(1, "test_online_and_mini_batch_runs_report_accuracy_and_time")),
    Item(1, E, 7, "Equation (22) in components", "derivation",
         tests=_t(1, "test_the_matrix_form_is_the_component_form")),
    Item(1, E, 8, "A network with no hidden layer", "code",
         tests=_t(1, "test_a_network_without_a_hidden_layer_learns")),
    Item(2, P, 1, "The equations with diagonal matrices", "derivation",
         tests=_t(2, "test_the_diagonal_form_is_the_hadamard_form")),
    Item(2, E, 1, "Prove BP3 and BP4", "derivation", tests=("tests/test_nn_gradcheck.py",)),
    Item(2, E, 2, "Backpropagation with a single modified neuron", "derivation",
         tests=_t(2, "test_backprop_with_one_modified_neuron_matches_finite_differences")),
    Item(2, E, 3, "Backpropagation with linear neurons", "derivation",
         tests=_t(2, "test_backprop_with_linear_neurons_is_the_transposes_alone")),
    Item(2, P, 2, "Fully matrix-based backpropagation over a mini-batch", "code",
         tests=("tests/test_matrix_form.py",) + _t(2, "test_three_ways_to_run_an_epoch_agree")),
    Item(3, E, 1, "sigma' = sigma (1 - sigma)", "derivation", "book",
         tests=_t(3, "test_small_identities_of_chapter_3")),
    Item(3, E, 2, "Which way round the cross-entropy goes", "derivation"),
    Item(3, E, 3, "The cross-entropy is smallest at sigma(z) = y", "derivation",
         tests=_t(3, "test_the_cross_entropy_is_smallest_where_a_equals_y")),
    Item(3, P, 1, "Many-layer multi-neuron networks", "derivation", "book"),
    Item(3, P, 2, "The quadratic cost with linear output neurons", "derivation", "book"),
    Item(3, P, 3, "Why no cost removes the x_j term", "discussion"),
    Item(3, E, 4, "Sigmoid outputs need not sum to 1", "derivation",
         tests=_t(3, "test_small_identities_of_chapter_3")),
    Item(3, E, 5, "Monotonicity of softmax", "derivation", tests=_t(3, "test_softmax_derivatives")),
    Item(3, E, 6, "Non-locality of softmax", "discussion"),
    Item(3, P, 4, "Inverting the softmax layer", "derivation", tests=_t(3, "test_softmax_derivatives")),
    Item(3, P, 5, "Derive equations (81) and (82)", "derivation", "book", tests=_t(3, "test_softmax_derivatives")),
    Item(3, P, 6, "Where the name softmax comes from", "derivation", tests=_t(3, "test_softmax_with_large_c_is_a_max")),
    Item(3, P, 7, "Backpropagation with softmax and the log-likelihood", "derivation", "book",
         tests=_t(3, "test_softmax_derivatives")),
    Item(3, E, 7, "Arbitrarily large rotations", "discussion"),
    Item(3, P, 8, "Performance in the limit of very large data sets (research problem)", "research"),
    Item(3, E, 8, "The spread of z is sqrt(3/2)", "derivation", "book",
         tests=_t(3, "test_the_weighted_input_spreads_by_sqrt_three_halves")),
    Item(3, P, 9, "Regularisation and the improved initialisation", "derivation",
         tests=_t(3, "test_weight_decay_shrinks_large_initial_weights")),
    Item(3, P, 10, "L1 regularisation on MNIST", "code",
         tests=_t(3, "test_l1_sweep_trains_each_lambda_from_one_start")),
    Item(3, P, 11, "cost_derivative for the cross-entropy", "derivation",
         tests=_t(3, "test_the_cross_entropy_derivative_breaks_where_delta_does_not")),
    Item(3, P, 12, "Early stopping by no-improvement-in-n", "code",
         tests=("tests/test_book_network.py::test_early_stopping_stops_after_n_epochs_without_a_better_accuracy",)
         + _t(3, "test_the_rule_stops_where_network2_stops")),
    Item(3, P, 13, "Another rule for early stopping", "code",
         tests=_t(3, "test_gain_below_stops_no_later_than_the_books_rule",
                  "test_train_until_stops_when_the_rule_fires")),
    Item(3, E, 9, "A learning-rate schedule", "code",
         tests=("tests/test_book_network.py::test_schedule_halves_eta_after_n_epochs_without_improvement_and_stops_at_eta0_over_128",)),
    Item(3, E, 10, "Gradient descent for lambda and eta?", "discussion"),
    Item(3, E, 11, "Momentum with mu > 1", "derivation", tests=_t(3, "test_momentum_outside_zero_one")),
    Item(3, E, 12, "Momentum with mu < 0", "derivation", tests=_t(3, "test_momentum_outside_zero_one")),
    Item(3, P, 14, "Momentum in network2", "code",
         tests=("tests/test_matrix_form.py", "parity_tests/test_book_parity.py")),
    Item(3, E, 13, "sigma(z) = (1 + tanh(z/2)) / 2", "derivation", "book",
         tests=_t(3, "test_small_identities_of_chapter_3")),
    Item(4, P, 1, "One hidden layer is enough", "code",
         tests=_t(4, "test_directional_steps_and_the_circular_tower",
                  "test_one_hidden_layer_of_ridges_approximates_within_its_bound")),
    Item(4, P, 2, "Rectified linear units are universal", "code",
         tests=_t(4, "test_a_relu_network_is_the_broken_line_within_its_bound")),
    Item(4, P, 3, "Linear neurons are not", "derivation", tests=_t(4, "test_a_linear_network_is_one_affine_map")),
    Item(5, E, 1, "An activation with a larger derivative", "discussion",
         tests=_t(5, "test_layer_speeds_for_any_activation")),
    Item(5, P, 1, "The window where |w sigma'(wa + b)| >= 1", "code", "book",
         tests=_t(5, "test_the_window_formula_is_the_measured_width", "test_the_widest_window")),
    Item(5, P, 2, "Identity neuron", "code", tests=_t(5, "test_the_identity_neuron_is_within_its_bound")),
    Item(6, P, 1, "Backpropagation in a convolutional network", "derivation",
         tests=("parity_tests/test_network3_parity.py", "parity_tests/test_conv_parity.py")),
    Item(6, E, 1, "Without the fully connected layer", "code", tests=_t(6, "test_the_book_variants_train")),
    Item(6, P, 2, "The tanh activation function", "code", tests=_t(6, "test_the_book_variants_train")),
    Item(6, P, 3, "Why shifted copies teach a convolutional network more", "discussion"),
    Item(6, P, 4, "Early stopping in network3", "code", tests=_t(6, "test_train_stops_when_the_rule_fires")),
    Item(6, P, 5, "Accuracy on any data set", "code", tests=_t(6, "test_accuracy_counts_every_sample")),
    Item(6, P, 6, "A learning rate per epoch", "code", tests=_t(6, "test_train_is_sgd_one_epoch_at_a_time")),
    Item(6, P, 7, "Rotations, skews and shifts, made on the fly", "code",
         tests=_t(6, "test_distort_moves_rotates_and_keeps_the_pixels", "test_train_with_distortions_sees_new_images")),
    Item(6, P, 8, "Saving and loading networks", "code", tests=_t(6, "test_save_and_load_give_the_same_network")),
    Item(6, P, 9, "Diagnostics for overfitting", "code", tests=_t(6, "test_diagnostics_are_the_accuracy_and_cost")),
    Item(6, P, 10, "ReLU networks and the scale of the weights", "derivation", "book",
         tests=_t(6, "test_scaling_a_relu_network", "test_the_sigmoid_initialisation_halves_a_relu_signal_per_layer")),
    Item(6, P, 11, "Unstable gradients with ReLU", "discussion", tests=_t(5, "test_layer_speeds_for_any_activation")),
)
